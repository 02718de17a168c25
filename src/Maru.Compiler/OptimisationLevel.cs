namespace Maru.Compiler;

/// <summary>How hard the compiler works on the code: O0 keeps every value in a stack slot (straight, obviously correct code); O1 allocates registers and selects instructions.</summary>
public enum OptimisationLevel { O0, O1 }
