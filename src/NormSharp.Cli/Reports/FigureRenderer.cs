using System.Globalization;
using NormSharp.Experiments;

namespace NormSharp.Cli.Reports;

/// <summary>
/// Draws a claim's figures with ScottPlot, as PNG and SVG: the legend outside the data area (right), and a logarithmic
/// axis drawn in the quantity's own units (ticks at 1, 2, 5 × powers of ten, labelled with their values, the axis
/// label saying it is logarithmic).
/// </summary>
internal static class FigureRenderer
{
    /// <summary>Writes <paramref name="figure"/> as DIR/NAME.png and DIR/NAME.svg and returns the SVG text.</summary>
    public static string Render(Figure figure, string directory)
    {
        var plt = new ScottPlot.Plot();
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity, xMin = double.PositiveInfinity, xMax = double.NegativeInfinity;
        for (int index = 0; index < figure.Series.Count; index++)
        {
            var s = figure.Series[index];
            // One color per series, shared by its line and its spread band.
            var color = plt.Add.Palette.GetColor(index);
            var (xs, ys) = Finite(s.X, s.Y, figure.LogX, figure.LogY);
            if (xs.Length == 0) continue;
            if (s.Spread is { } sd && sd.Length == s.Y.Length)
            {
                // The band is mean ± sd; on a log axis its lower edge is drawn only where it stays positive.
                var lo = s.Y.Zip(sd, (y, d) => figure.LogY && y - d <= 0 ? y : y - d).ToArray();
                var hi = s.Y.Zip(sd, (y, d) => y + d).ToArray();
                var (bx, blo) = Finite(s.X, lo, figure.LogX, figure.LogY);
                var (bx2, bhi) = Finite(s.X, hi, figure.LogX, figure.LogY);
                if (bx.Length == blo.Length && blo.Length == bhi.Length && bx.Length == bx2.Length && bx.Length > 1)
                {
                    var band = plt.Add.FillY(bx, bhi, blo);
                    band.FillStyle.Color = color.WithAlpha(0.15);
                    band.LineWidth = 0;
                }
            }
            var line = plt.Add.Scatter(xs, ys, color);
            line.LegendText = s.Label;
            line.MarkerSize = xs.Length > 60 ? 0 : 4;
            yMin = Math.Min(yMin, ys.Min());
            yMax = Math.Max(yMax, ys.Max());
            xMin = Math.Min(xMin, xs.Min());
            xMax = Math.Max(xMax, xs.Max());
        }
        plt.Title(figure.Title, size: 13);
        plt.XLabel(figure.XLabel + (figure.LogX ? " (log scale)" : ""));
        plt.YLabel(figure.YLabel + (figure.LogY ? " (log scale)" : ""));
        if (figure.LogY && double.IsFinite(yMin)) plt.Axes.Left.TickGenerator = LogTicks(yMin, yMax);
        if (figure.LogX && double.IsFinite(xMin)) plt.Axes.Bottom.TickGenerator = LogTicks(xMin, xMax);
        // Outside the data area, so no legend hides a curve.
        plt.ShowLegend(ScottPlot.Edge.Right);
        Directory.CreateDirectory(directory);
        plt.SavePng(Path.Combine(directory, figure.Name + ".png"), 960, 480);
        string svgPath = Path.Combine(directory, figure.Name + ".svg");
        plt.SaveSvg(svgPath, 960, 480);
        return File.ReadAllText(svgPath);
    }

    /// <summary>
    /// Ticks for an axis whose data are log10 values from <paramref name="low"/> to <paramref name="high"/>: major ticks at
    /// 1, 2 and 5 times each power of ten (just the powers when the range spans more than three decades), labelled with
    /// the value itself, minor ticks at the other integers times each power.
    /// </summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(double low, double high)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        int first = (int)Math.Floor(low), last = (int)Math.Ceiling(high);
        bool wide = last - first > 3;
        for (int decade = first; decade <= last; decade++)
            for (int m = 1; m <= 9; m++)
            {
                double position = decade + Math.Log10(m);
                if (position < low - 0.05 || position > high + 0.05) continue;
                if (m == 1 || (!wide && m is 2 or 5)) ticks.AddMajor(position, Label(m * Math.Pow(10, decade)));
                else ticks.AddMinor(position);
            }
        return ticks;
    }

    private static string Label(double v) => v.ToString(v >= 1e-3 && v < 1e5 ? "0.####" : "0E0", CultureInfo.InvariantCulture);

    /// <summary>The points a (possibly logarithmic) axis can show, transformed to log10 where asked.</summary>
    private static (double[] X, double[] Y) Finite(double[] x, double[] y, bool logX, bool logY)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            double a = x[i], b = y[i];
            if (logX) a = a > 0 ? Math.Log10(a) : double.NaN;
            if (logY) b = b > 0 ? Math.Log10(b) : double.NaN;
            if (double.IsFinite(a) && double.IsFinite(b))
            {
                xs.Add(a);
                ys.Add(b);
            }
        }
        return (xs.ToArray(), ys.ToArray());
    }
}
