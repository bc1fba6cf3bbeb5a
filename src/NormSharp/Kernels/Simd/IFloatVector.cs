using System.Numerics;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// A vector of float32 lanes at one width: the primitives every kernel loop is written against, implemented once
/// per width (<see cref="Vec512"/>, <see cref="Vec256"/>, <see cref="Vec128"/> and the portable <see cref="VecScalar"/>).
/// Each primitive gives the same bits lane by lane at every width: multiply-adds are always fused (never a multiply
/// then an add), min and max follow IEEE 754 maximum/minimum, division and square root are correctly rounded, and
/// the across-lane sums fold the upper half onto the lower half until one lane is left. A loop that also fixes which
/// elements it adds in which order (see <see cref="LaneSums"/>) therefore gives the same bits on every machine.
/// </summary>
internal interface IFloatVector<TSelf> :
    IAdditionOperators<TSelf, TSelf, TSelf>,
    ISubtractionOperators<TSelf, TSelf, TSelf>,
    IMultiplyOperators<TSelf, TSelf, TSelf>,
    IDivisionOperators<TSelf, TSelf, TSelf>
    where TSelf : unmanaged, IFloatVector<TSelf>
{
    /// <summary>Lanes per vector: 16, 8 or 4 (the portable form emulates four lanes in scalar code).</summary>
    static abstract int Count { get; }

    /// <summary>Whether this width runs in hardware here (the portable form always can).</summary>
    static abstract bool IsHardwareAccelerated { get; }

    /// <summary>Every lane zero.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Reads <see cref="Count"/> floats (no alignment needed).</summary>
    static abstract unsafe TSelf Load(float* source);

    /// <summary>Writes <see cref="Count"/> floats (no alignment needed).</summary>
    static abstract unsafe void Store(TSelf value, float* destination);

    /// <summary>a·b + c rounded once.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    /// <summary>IEEE 754 minimum: NaN if either is NaN, −0 below +0.</summary>
    static abstract TSelf Min(TSelf a, TSelf b);

    /// <summary>IEEE 754 maximum: NaN if either is NaN, +0 above −0.</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>|a| (the sign bit cleared).</summary>
    static abstract TSelf Abs(TSelf a);

    /// <summary>Correctly rounded square root.</summary>
    static abstract TSelf Sqrt(TSelf a);

    /// <summary>All bits set in the lanes where a &gt; b, clear elsewhere.</summary>
    static abstract TSelf GreaterThan(TSelf a, TSelf b);

    /// <summary>All bits set in the lanes where a &lt; b, clear elsewhere.</summary>
    static abstract TSelf LessThan(TSelf a, TSelf b);

    /// <summary>Bitwise: lanes of <paramref name="ifSet"/> where <paramref name="mask"/> is set, of <paramref name="ifClear"/> elsewhere.</summary>
    static abstract TSelf Select(TSelf mask, TSelf ifSet, TSelf ifClear);

    /// <summary>Bitwise and.</summary>
    static abstract TSelf And(TSelf a, TSelf b);

    /// <summary>2ⁿ for lanes holding whole numbers n in [−126, 127].</summary>
    static abstract TSelf Pow2(TSelf n);

    /// <summary>The first lane.</summary>
    static abstract float First(TSelf value);

    /// <summary>Sum of the lanes: the upper half added onto the lower half, repeatedly.</summary>
    static abstract float Sum(TSelf value);

    /// <summary>Largest lane (IEEE maximum), folded like <see cref="Sum"/>.</summary>
    static abstract float MaxAcross(TSelf value);
}
