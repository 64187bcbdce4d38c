namespace KeplerSim.Core.Metadata;

/// <summary>The metadata database cannot be used by this build: it is newer, or it is not ours.</summary>
public sealed class MetadataSchemaException(string message) : Exception(message);
