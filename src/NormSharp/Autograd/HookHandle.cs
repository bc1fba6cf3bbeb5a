namespace NormSharp.Autograd;

/// <summary>Removes a registered hook when disposed (PyTorch's <c>RemovableHandle</c>); disposing twice does nothing more.</summary>
public sealed class HookHandle : IDisposable
{
    private Action? _remove;

    internal HookHandle(Action remove) => _remove = remove;

    /// <summary>Unregisters the hook.</summary>
    public void Dispose()
    {
        _remove?.Invoke();
        _remove = null;
    }
}
