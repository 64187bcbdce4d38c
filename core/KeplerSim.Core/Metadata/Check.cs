namespace KeplerSim.Core.Metadata;

/// <summary>Argument checks shared by the store: bad input is refused before any SQL runs.</summary>
internal static class Check
{
    public static void Id(string? value, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        if (value.Length == 0 || string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("must not be empty or white space", parameterName);
        }

        if (value.Length > MetadataStore.IdLengthMax)
        {
            throw new ArgumentException(
                $"is {value.Length} characters, longer than {MetadataStore.IdLengthMax}", parameterName);
        }

        WellFormed(value, parameterName);
    }

    public static void Path(string? value, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        if (value.Length == 0)
        {
            throw new ArgumentException("must not be empty", parameterName);
        }

        Prefix(value, parameterName);
    }

    public static void Prefix(string? value, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        if (value.Length > MetadataStore.PathLengthMax)
        {
            throw new ArgumentException(
                $"is {value.Length} characters, longer than {MetadataStore.PathLengthMax}", parameterName);
        }

        WellFormed(value, parameterName);
    }

    public static void NonNegative(long value, string parameterName)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(parameterName, value, "must not be negative");
        }
    }

    public static void Port(int value, string parameterName)
    {
        if (value is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(parameterName, value, "must be a port in 1..65535");
        }
    }

    public static void Limit(int value, int maximum, string parameterName)
    {
        if (value < 1 || value > maximum)
        {
            throw new ArgumentOutOfRangeException(parameterName, value, $"must be in 1..{maximum}");
        }
    }

    public static void Node(Runtime.NodeId node, string parameterName) => Id(node.Value, parameterName);

    private static void WellFormed(string value, string parameterName)
    {
        foreach (var character in value)
        {
            if (char.IsControl(character))
            {
                throw new ArgumentException("must not contain control characters", parameterName);
            }
        }

        // SQLite stores TEXT as UTF-8: a lone surrogate would not round-trip and would break ordering.
        if (HasLoneSurrogate(value))
        {
            throw new ArgumentException("must be well-formed Unicode (no lone surrogates)", parameterName);
        }
    }

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }
}
