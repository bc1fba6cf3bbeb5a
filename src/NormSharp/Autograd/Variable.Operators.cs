namespace NormSharp.Autograd;

/// <summary>
/// Arithmetic operators, as in PyTorch: between variables they broadcast (<see cref="F.Add(Variable, Variable)"/>
/// and its siblings), and a number on either side acts on every element. Each operator is the named function in
/// <see cref="F"/> and records for the backward pass in the same way.
/// </summary>
public sealed partial class Variable
{
    /// <summary>Elementwise sum, broadcast (<see cref="F.Add(Variable, Variable)"/>).</summary>
    public static Variable operator +(Variable a, Variable b) => F.Add(a, b);

    /// <summary>Elementwise difference, broadcast (<see cref="F.Sub(Variable, Variable)"/>).</summary>
    public static Variable operator -(Variable a, Variable b) => F.Sub(a, b);

    /// <summary>Elementwise product, broadcast (<see cref="F.Mul(Variable, Variable)"/>).</summary>
    public static Variable operator *(Variable a, Variable b) => F.Mul(a, b);

    /// <summary>Elementwise quotient, broadcast (<see cref="F.Div(Variable, Variable)"/>).</summary>
    public static Variable operator /(Variable a, Variable b) => F.Div(a, b);

    /// <summary>Negation (<see cref="F.Neg"/>).</summary>
    public static Variable operator -(Variable a) => F.Neg(a);

    /// <summary>Adds a number to every element.</summary>
    public static Variable operator +(Variable a, float b) => F.Add(a, b);

    /// <summary>Adds a number to every element.</summary>
    public static Variable operator +(float a, Variable b) => F.Add(b, a);

    /// <summary>Subtracts a number from every element.</summary>
    public static Variable operator -(Variable a, float b) => F.Sub(a, b);

    /// <summary>A number minus every element.</summary>
    public static Variable operator -(float a, Variable b) => F.Sub(a, b);

    /// <summary>Multiplies every element by a number.</summary>
    public static Variable operator *(Variable a, float b) => F.Mul(a, b);

    /// <summary>Multiplies every element by a number.</summary>
    public static Variable operator *(float a, Variable b) => F.Mul(b, a);

    /// <summary>Divides every element by a number.</summary>
    public static Variable operator /(Variable a, float b) => F.Div(a, b);

    /// <summary>A number divided by every element.</summary>
    public static Variable operator /(float a, Variable b) => F.Div(a, b);

    /// <summary>Adds a number (rounded to float) to every element, so that <c>x + 0.5</c> reads as in PyTorch.</summary>
    public static Variable operator +(Variable a, double b) => F.Add(a, (float)b);

    /// <summary>Adds a number (rounded to float) to every element.</summary>
    public static Variable operator +(double a, Variable b) => F.Add(b, (float)a);

    /// <summary>Subtracts a number (rounded to float) from every element.</summary>
    public static Variable operator -(Variable a, double b) => F.Sub(a, (float)b);

    /// <summary>A number (rounded to float) minus every element.</summary>
    public static Variable operator -(double a, Variable b) => F.Sub((float)a, b);

    /// <summary>Multiplies every element by a number (rounded to float).</summary>
    public static Variable operator *(Variable a, double b) => F.Mul(a, (float)b);

    /// <summary>Multiplies every element by a number (rounded to float).</summary>
    public static Variable operator *(double a, Variable b) => F.Mul(b, (float)a);

    /// <summary>Divides every element by a number (rounded to float).</summary>
    public static Variable operator /(Variable a, double b) => F.Div(a, (float)b);

    /// <summary>A number (rounded to float) divided by every element.</summary>
    public static Variable operator /(double a, Variable b) => F.Div((float)a, b);
}
