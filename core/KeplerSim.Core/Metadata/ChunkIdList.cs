using System.Buffers;
using System.Text;
using System.Text.Json;

namespace KeplerSim.Core.Metadata;

/// <summary>Encodes a file's chunk ids as the JSON array stored in <c>files.chunk_ids</c>, as in the seed.</summary>
internal static class ChunkIdList
{
    public static string Encode(IReadOnlyList<string> chunkIds)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var id in chunkIds)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string[] Decode(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        Invariant.That(reader.Read(), "files.chunk_ids holds a JSON value");
        Invariant.That(reader.TokenType == JsonTokenType.StartArray, "files.chunk_ids holds a JSON array");
        var ids = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Invariant.That(reader.TokenType == JsonTokenType.String, "files.chunk_ids holds only strings");
            ids.Add(reader.GetString()!);
        }

        Invariant.That(reader.TokenType == JsonTokenType.EndArray, "files.chunk_ids is a closed JSON array");
        return [.. ids];
    }
}
