namespace NormSharp.Kernels.Simd;

/// <summary>A compile-time boolean: a loop generic over an <see cref="IFlag"/> is compiled once per value with the branch folded away.</summary>
internal interface IFlag
{
    /// <summary>The value.</summary>
    static abstract bool Value { get; }
}

/// <summary>The <see cref="IFlag"/> true.</summary>
internal readonly struct Yes : IFlag
{
    public static bool Value => true;
}

/// <summary>The <see cref="IFlag"/> false.</summary>
internal readonly struct No : IFlag
{
    public static bool Value => false;
}
