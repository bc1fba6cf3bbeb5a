using NormSharp.Errors;

namespace NormSharp.Autograd;

/// <summary>
/// Whether operations record themselves for the backward pass. Inference code wraps itself in
/// <see cref="NoGrad"/>: nothing is recorded and no gradient memory is kept. The mode follows the
/// logical flow of control (an <see cref="AsyncLocal{T}"/>): it survives <c>await</c> and reaches the
/// tasks and <c>Parallel.For</c> bodies started inside the scope, and never leaks to other threads.
/// </summary>
public static class GradMode
{
    private static readonly AsyncLocal<GradModeScope?> _scope = new();

    /// <summary>True when operations in this flow of control record for backward.</summary>
    public static bool IsEnabled => _scope.Value is not { Enabled: false };

    /// <summary>Turns recording off until the returned scope is disposed (PyTorch's <c>torch.no_grad()</c>; scopes nest).</summary>
    public static GradModeScope NoGrad() => Enter(enabled: false);

    /// <summary>Turns recording on inside a <see cref="NoGrad"/> scope until the returned scope is disposed (PyTorch's <c>torch.enable_grad()</c>).</summary>
    public static GradModeScope EnableGrad() => Enter(enabled: true);

    private static GradModeScope Enter(bool enabled)
    {
        var scope = new GradModeScope(enabled, _scope.Value);
        _scope.Value = scope;
        return scope;
    }

    internal static void Exit(GradModeScope scope)
    {
        if (scope.Disposed)
            throw new NormSharpException("GradMode: this scope was already disposed; dispose each NoGrad()/EnableGrad() scope exactly once.");
        if (!ReferenceEquals(_scope.Value, scope))
            throw new NormSharpException("GradMode: scopes must be disposed in the reverse order of their creation, in the flow of control that created them (use a using statement).");
        scope.Disposed = true;
        _scope.Value = scope.Previous;
    }
}

/// <summary>A gradient-mode scope from <see cref="GradMode.NoGrad"/> or <see cref="GradMode.EnableGrad"/>; disposing it restores the mode it replaced.</summary>
public sealed class GradModeScope : IDisposable
{
    internal GradModeScope(bool enabled, GradModeScope? previous)
    {
        Enabled = enabled;
        Previous = previous;
    }

    /// <summary>Whether this scope records operations.</summary>
    public bool Enabled { get; }

    internal GradModeScope? Previous { get; }

    internal bool Disposed { get; set; }

    /// <summary>Restores the mode in force before this scope; throws if already disposed or disposed out of order.</summary>
    public void Dispose() => GradMode.Exit(this);
}
