// The end-to-end classes share a packed feed and build real projects; they run one after another
// (2 cores, and MSBuild/NuGet processes are heavy), while each test keeps its own folders.
[assembly: Microsoft.VisualStudio.TestTools.UnitTesting.DoNotParallelize]
