using System.Globalization;
using System.Text;
using System.Xml;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.S3;

/// <summary>S3's XML bodies, written with <see cref="XmlWriter"/> and read with <see cref="XmlReader"/>.</summary>
internal static class S3Xml
{
    public const string Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

    /// <summary>The largest request XML body read (a DeleteObjects of 1000 long keys fits).</summary>
    public const int RequestBytesMax = 2 * 1024 * 1024;

    private static readonly XmlWriterSettings WriterSettings = new()
    {
        Encoding = new UTF8Encoding(false),
        Async = true,
    };

    /// <summary>Writes an XML response: a root element in S3's namespace filled by <paramref name="body"/>.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string root, Action<XmlWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, WriterSettings))
        {
            writer.WriteStartDocument();
            writer.WriteStartElement(root, Namespace);
            body(writer);
            writer.WriteEndElement();
            writer.WriteEndDocument();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>The standard error body: Code, Message, Resource, RequestId.</summary>
    public static Task WriteErrorAsync(HttpContext context, S3Exception error, string resource, string requestId)
    {
        if (context.Request.Method == HttpMethods.Head)
        {
            context.Response.StatusCode = error.Status;
            return Task.CompletedTask; // A HEAD response has no body; the status says it all.
        }

        return WriteAsync(context, error.Status, "Error", w =>
        {
            w.WriteElementString("Code", error.Code);
            w.WriteElementString("Message", error.Message);
            w.WriteElementString("Resource", resource);
            w.WriteElementString("RequestId", requestId);
        });
    }

    public static void Element(this XmlWriter writer, string name, string value) =>
        writer.WriteElementString(name, value);

    public static void Element(this XmlWriter writer, string name, long value) =>
        writer.WriteElementString(name, value.ToString(CultureInfo.InvariantCulture));

    public static void Element(this XmlWriter writer, string name, bool value) =>
        writer.WriteElementString(name, value ? "true" : "false");

    /// <summary>An ISO 8601 time as S3 lists it (2024-01-01T00:00:00.000Z).</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads a request's XML body (bounded) into a reader that refuses DTDs.</summary>
    public static async Task<XmlReader> ReadAsync(Stream body)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > RequestBytesMax)
            {
                throw S3Exception.MalformedXml($"The XML body exceeds {RequestBytesMax} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        buffer.Position = 0;
        return XmlReader.Create(buffer, new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            IgnoreComments = true,
            IgnoreWhitespace = true,
            XmlResolver = null,
        });
    }

    /// <summary>
    /// The root's name, its child elements named <paramref name="item"/> (each a map of its children's text, in
    /// document order) and its other simple children's text; a malformed document is MalformedXML.
    /// </summary>
    public static async Task<XmlRequest> ReadItemsAsync(Stream body, string item, int itemsMax)
    {
        using var reader = await ReadAsync(body);
        var items = new List<Dictionary<string, string>>();
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            reader.MoveToContent();
            var root = reader.LocalName;
            var empty = reader.IsEmptyElement;
            reader.Read();
            while (!empty && !reader.EOF)
            {
                if (reader.NodeType != XmlNodeType.Element || reader.Depth != 1)
                {
                    reader.Read();
                }
                else if (reader.LocalName == item)
                {
                    items.Add(ReadChildren(reader));
                    if (items.Count > itemsMax)
                    {
                        throw S3Exception.MalformedXml($"More than {itemsMax} {item} elements");
                    }
                }
                else
                {
                    fields[reader.LocalName] = reader.ReadElementContentAsString();
                }
            }

            return new XmlRequest(root, items, fields);
        }
        catch (XmlException e)
        {
            throw S3Exception.MalformedXml("The XML you provided was not well-formed: " + e.Message);
        }
    }

    private static Dictionary<string, string> ReadChildren(XmlReader reader)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return fields;
        }

        var depth = reader.Depth;
        reader.Read();
        while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                fields[reader.LocalName] = reader.ReadElementContentAsString();
            }
            else
            {
                reader.Read();
            }
        }

        reader.Read();
        return fields;
    }
}

/// <summary>A parsed request body: root element, repeated items, other simple fields.</summary>
internal sealed record XmlRequest(string Root, List<Dictionary<string, string>> Items,
    Dictionary<string, string> Fields);
