using NormSharp.Experiments;

namespace NormSharp.Cli.Reports;

/// <summary>Draws a claim's figures with ScottPlot, as PNG and SVG.</summary>
internal static class FigureRenderer
{
    /// <summary>Writes <paramref name="figure"/> as DIR/NAME.png and DIR/NAME.svg and returns the SVG text.</summary>
    public static string Render(Figure figure, string directory)
    {
        var plt = new ScottPlot.Plot();
        for (int index = 0; index < figure.Series.Count; index++)
        {
            var s = figure.Series[index];
            // One color per series, shared by its line and its spread band.
            var color = plt.Add.Palette.GetColor(index);
            var (xs, ys) = Finite(s.X, s.Y, figure.LogX, figure.LogY);
            if (xs.Length == 0) continue;
            if (s.Spread is { } sd && sd.Length == s.Y.Length && !figure.LogY)
            {
                var lo = s.Y.Zip(sd, (y, d) => y - d).ToArray();
                var hi = s.Y.Zip(sd, (y, d) => y + d).ToArray();
                var (bx, blo) = Finite(s.X, lo, figure.LogX, false);
                var (_, bhi) = Finite(s.X, hi, figure.LogX, false);
                if (bx.Length == blo.Length && blo.Length == bhi.Length && bx.Length > 1)
                {
                    var band = plt.Add.FillY(bx, bhi, blo);
                    band.FillStyle.Color = color.WithAlpha(0.15);
                    band.LineWidth = 0;
                }
            }
            var line = plt.Add.Scatter(xs, ys, color);
            line.LegendText = s.Label;
            line.MarkerSize = xs.Length > 60 ? 0 : 4;
        }
        plt.Title(figure.Title);
        plt.XLabel(figure.XLabel + (figure.LogX ? " (log10)" : ""));
        plt.YLabel(figure.YLabel + (figure.LogY ? " (log10)" : ""));
        plt.ShowLegend();
        Directory.CreateDirectory(directory);
        plt.SavePng(Path.Combine(directory, figure.Name + ".png"), 800, 480);
        string svgPath = Path.Combine(directory, figure.Name + ".svg");
        plt.SaveSvg(svgPath, 800, 480);
        return File.ReadAllText(svgPath);
    }

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
