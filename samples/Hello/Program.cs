// Calls the Maru functions of lisp/math.l through the generated MaruExports class.
Console.WriteLine($"fib-iter 50    = {MaruExports.FibIter(50)}");
Console.WriteLine($"fib 20         = {MaruExports.Fib(20)}");
Console.WriteLine($"triple -14     = {MaruExports.Triple(-14)}");
Console.WriteLine($"gcd 1071 462   = {MaruExports.Gcd(1071, 462)}");
Console.WriteLine($"even? 10       = {MaruExports.IsEven(10) != 0}");
Console.WriteLine($"even? 7        = {MaruExports.IsEven(7) != 0}");
Console.WriteLine($"popcount 255   = {MaruExports.Popcount(255)}");
Console.WriteLine($"mix 6 40       = {MaruExports.Mix(6, 40)}");
Console.WriteLine($"in-range? 5 1 9 = {MaruExports.IsInRange(5, 1, 9) != 0}");
MaruExports.CountCall();
Console.WriteLine($"count-call     = {MaruExports.CountCall()}");
