namespace KeplerSim.Tests;

/// <summary>A test of the long tier: skipped (and reported as skipped) unless KEPLER_LONG=1.</summary>
public sealed class LongFactAttribute : FactAttribute
{
    public LongFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("KEPLER_LONG") != "1")
        {
            Skip = "long tier: set KEPLER_LONG=1 to run";
        }
    }
}
