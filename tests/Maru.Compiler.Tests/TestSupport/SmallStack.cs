namespace Maru.Compiler.Tests.TestSupport;

/// <summary>
/// Runs a compilation on a caller's thread with a small stack (256 KB): compile-time evaluation
/// starts on the caller's stack and must start again on a large one when it runs short, never
/// overflow it.
/// </summary>
public static class SmallStack
{
    public static T Run<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = action();
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null) throw new AssertFailedException("failed on the small stack", failure);
        return result;
    }
}
