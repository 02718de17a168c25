using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Lowering;

/// <summary>
/// Lowers one function's (expanded) body forms to IR: names are resolved against the function's
/// scopes and the compilation unit, control forms become basic blocks, and every expression
/// yields an operand. Operands are evaluated left to right, and a variable read is copied into a
/// fresh register so a later <c>set</c> among the siblings cannot change a value already taken.
/// </summary>
internal sealed class FunctionLowerer
{
    /// <summary>Deeper than any sensible program; keeps the build's own stack safe on hostile input.</summary>
    private const int MaxDepth = 1500;

    /// <summary>
    /// Nodes of one function's code counted as a tree (shared pairs once per use). Far beyond real
    /// programs (eval.l's largest function has a few thousand); bounds lowering's work, which is
    /// linear in this count, and stops on code made circular at compile time.
    /// </summary>
    internal const int MaxBodyNodes = 4_000_000;

    private readonly CompilationUnit _unit;
    private readonly IrModule _module;
    private readonly IrFunction _function;
    private readonly BasicBlock _entry;
    private readonly HashSet<string> _addressTaken;
    private BasicBlock _current;
    private int _depth;

    private FunctionLowerer(CompilationUnit unit, IrModule module, IrFunction function, HashSet<string> addressTaken)
    {
        _unit = unit;
        _module = module;
        _function = function;
        _addressTaken = addressTaken;
        _entry = function.NewBlock();
        _current = _entry;
    }

    public static IrFunction Lower(FunctionDefinition definition, CompilationUnit unit, IrModule module)
    {
        var function = new IrFunction(definition.Name, definition.Parameters.Count, definition.Location);
        var lowerer = new FunctionLowerer(unit, module, function, AddressTakenNames(definition));
        var scope = new Scope(parent: null);
        for (var i = 0; i < definition.Parameters.Count; i++)
        {
            var parameter = definition.Parameters[i];
            scope.Bind(parameter.Name, lowerer.NewVariable(parameter.Name, function.Parameter(i), parameter.Location));
        }
        var result = lowerer.LowerSequence(definition.Body, scope);
        lowerer.Terminate(new Return(result));
        lowerer._entry.Instructions.InsertRange(0, lowerer._allocas);
        return function;
    }

    // ---- expressions -------------------------------------------------------------------------

    private Operand Lower(Datum form, Scope scope)
    {
        if (++_depth > MaxDepth)
            throw new CompilationError(DiagnosticCode.NestingTooDeep, form.Location, $"expression nested more than {MaxDepth} levels deep");
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
        }
        catch (InsufficientExecutionStackException)
        {
            throw new CompilationError(DiagnosticCode.NestingTooDeep, form.Location, "expression nested too deeply to compile");
        }
        try
        {
            return form switch
            {
                IntegerDatum integer => Operand.Of(integer.Value),
                NilDatum => Operand.Of(0),
                StringDatum text => Emit(Opcode.StringAddress, form.Location, _module.InternString(text.Value)),
                SymbolDatum symbol => LowerVariable(symbol, scope),
                PairDatum pair => LowerCombination(pair, scope),
                RealDatum => throw new CompilationError(DiagnosticCode.NotCompilable, form.Location, "floating-point numbers are not compilable: compiled Maru works on 64-bit integer words"),
                _ => throw NotCompilable(form),
            };
        }
        finally
        {
            _depth--;
        }
    }

    private Operand LowerVariable(SymbolDatum symbol, Scope scope)
    {
        if (scope.Lookup(symbol.Name) is { } local)
            return local.InMemory
                ? Emit(Opcode.LoadWord, symbol.Location, null, local.Storage, Operand.Of(0))
                : Emit(Opcode.Copy, symbol.Location, null, local.Storage);
        switch (_unit.Resolve(symbol.Name))
        {
            case IntegerDefinition or StringDefinition:
                return Emit(Opcode.LoadGlobal, symbol.Location, symbol.Name);
            case FunctionDefinition:
                return Emit(Opcode.FunctionAddress, symbol.Location, symbol.Name);
            case ExternDefinition external:
                _module.AddImport(external.Symbol);
                return Emit(Opcode.ImportAddress, symbol.Location, external.Symbol);
        }
        if (Operators.IsOperator(symbol.Name))
            throw new CompilationError(DiagnosticCode.NotCompilable, symbol.Location, $"operator '{symbol.Name}' can only be applied, not used as a value");
        throw Unknown(symbol, "variable");
    }

    private Operand LowerCombination(PairDatum form, Scope scope)
    {
        var arguments = ArgumentsOf(form)
            ?? throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, $"{DatumPrinter.Outline(form)} is a dotted list, not a form");
        try
        {
            return LowerCombination(form, arguments, scope);
        }
        finally
        {
            arguments.Clear();
            _freeArgumentLists.Push(arguments);
        }
    }

    private Operand LowerCombination(PairDatum form, List<Datum> arguments, Scope scope)
    {
        if (form.Head is not SymbolDatum head)
            return LowerIndirectCall(form, Lower(form.Head, scope), arguments, scope);

        // A local variable shadows every global meaning of its name, operators included.
        if (scope.Lookup(head.Name) is not null)
            return LowerIndirectCall(form, LowerVariable(head, scope), arguments, scope);

        var meaning = Operators.Classify(head.Name);
        switch (meaning.Kind)
        {
            case FormKind.Let: return LowerLet(form, arguments, scope);
            case FormKind.If: return LowerIf(arguments, scope);
            case FormKind.While: return LowerWhile(form, arguments, scope);
            case FormKind.Set: return LowerSet(form, arguments, scope);
            case FormKind.And: return LowerAndOr(arguments, scope, isAnd: true);
            case FormKind.Or: return LowerAndOr(arguments, scope, isAnd: false);
            case FormKind.Return: return LowerReturn(arguments, scope);
            case FormKind.AddressOf: return LowerAddressOf(form, arguments, scope);
            case FormKind.Quote:
                throw new CompilationError(DiagnosticCode.NotCompilable, form.Location,
                    "quoted data exists only at compile time and cannot be compiled into a function");
            case FormKind.Lambda:
                throw new CompilationError(DiagnosticCode.NotCompilable, form.Location,
                    "a lambda inside a function would be a closure; only top-level functions are compilable");
        }

        switch (_unit.Resolve(head.Name))
        {
            case FunctionDefinition function:
                return LowerDirectCall(head, function, arguments, scope);
            case ExternDefinition external:
                _module.AddImport(external.Symbol);
                return WidenResult(external.Symbol, head.Location,
                    EmitImportCall(external, head.Location, LowerAll(arguments, scope)));
            case IntegerDefinition or StringDefinition:
                return LowerIndirectCall(form, LowerVariable(head, scope), arguments, scope);
        }

        if (meaning.Kind == FormKind.Operator)
        {
            if (meaning.Unary is { } unary && arguments.Count == 1)
                return Emit(unary, form.Location, null, Lower(arguments[0], scope));
            if (meaning.Binary is { } binary && arguments.Count == 2)
                return Emit(binary, form.Location, null, LowerAll(arguments, scope));
            if (meaning.Ternary is { } ternary && arguments.Count == 3)
            {
                var operands = LowerAll(arguments, scope);
                Append(new Instruction(ternary, null, operands, null, form.Location));
                return operands[2];
            }
            throw new CompilationError(DiagnosticCode.WrongOperandCount, form.Location,
                $"operator '{head.Name}' takes {Operators.Arity(head.Name)}, but {arguments.Count} {(arguments.Count == 1 ? "was" : "were")} given");
        }
        throw Unknown(head, "function");
    }

    private Operand LowerDirectCall(SymbolDatum head, FunctionDefinition function, List<Datum> arguments, Scope scope)
    {
        if (arguments.Count != function.Parameters.Count)
            throw new CompilationError(DiagnosticCode.WrongArgumentCount, head.Location,
                $"'{head.Name}' takes {Plural(function.Parameters.Count, "argument")} but is called with {arguments.Count} (defined at {function.Location})");
        return Emit(Opcode.Call, head.Location, function.Name, LowerAll(arguments, scope));
    }

    // A C int result fills only half the result register: widen it as C converts int to long.
    private Operand WidenResult(string symbol, SourceLocation location, VReg result) => CResultWidths.Of(symbol) switch
    {
        CResultWidths.Width.Int => Emit(Opcode.ShiftRight, location, null,
            Emit(Opcode.ShiftLeft, location, null, result, Operand.Of(32)), Operand.Of(32)),
        CResultWidths.Width.UnsignedInt => Emit(Opcode.And, location, null, result, Operand.Of(0xFFFF_FFFFL)),
        _ => result,
    };

    // The callee is evaluated first, then the arguments, left to right.
    private Operand LowerIndirectCall(PairDatum form, Operand callee, List<Datum> arguments, Scope scope) =>
        Emit(Opcode.CallIndirect, form.Location, null, [callee, .. LowerAll(arguments, scope)]);

    // ---- special forms ------------------------------------------------------------------------

    // (let ((name expr...) | name ...) body...): every init is evaluated in the OUTER scope, in order;
    // a binding with several expressions takes the last, one with none is 0.
    private Operand LowerLet(Datum form, List<Datum> arguments, Scope scope)
    {
        // The bindings are read off their pairs (no lists: lowering meets every let of the program).
        if (arguments.Count == 0 || !IsProperList(arguments[0]))
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed let: expected (let ((name value...) ...) body...)");
        var inner = new Scope(scope);
        for (var rest = arguments[0]; rest is PairDatum pair; rest = pair.Tail)
        {
            var binding = pair.Head;
            SymbolDatum name;
            Datum inits;
            if (binding is SymbolDatum bare)
            {
                name = bare;
                inits = NilDatum.Empty;
            }
            else if (binding is PairDatum { Head: SymbolDatum bound } list && IsProperList(list))
            {
                name = bound;
                inits = list.Tail;
            }
            else
            {
                throw new CompilationError(DiagnosticCode.MalformedForm, binding.Location, $"malformed let binding {DatumPrinter.Outline(binding)}: expected (name value...)");
            }
            if (inner.BindsHere(name.Name))
                throw new CompilationError(DiagnosticCode.DuplicateParameter, name.Location, $"'{name.Name}' is bound twice in the same let");
            var value = Operand.Of(0);
            for (var init = inits; init is PairDatum i; init = i.Tail) value = Lower(i.Head, scope);
            inner.Bind(name.Name, NewVariable(name.Name, value, name.Location));
        }
        return LowerSequence(arguments, inner, start: 1);
    }

    // (if) = 0; (if c) = c evaluated, then 0; (if c then else...) runs the else forms in order.
    private Operand LowerIf(List<Datum> arguments, Scope scope)
    {
        if (arguments.Count == 0) return Operand.Of(0);
        var result = _function.NewRegister();
        var thenBlock = _function.NewBlock();
        var elseBlock = _function.NewBlock();
        var join = _function.NewBlock();
        LowerBranch(arguments[0], scope, thenBlock, elseBlock);

        _current = thenBlock;
        var thenValue = arguments.Count > 1 ? Lower(arguments[1], scope) : Operand.Of(0);
        Assign(result, thenValue, arguments[0].Location);
        Terminate(new Jump(join));

        _current = elseBlock;
        var elseValue = LowerSequence(arguments, scope, start: 2);
        Assign(result, elseValue, arguments[0].Location);
        Terminate(new Jump(join));

        _current = join;
        return result;
    }

    // (while c body...) = 0
    private Operand LowerWhile(Datum form, List<Datum> arguments, Scope scope)
    {
        if (arguments.Count == 0)
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed while: expected (while condition body...)");
        var test = _function.NewBlock();
        var body = _function.NewBlock();
        var exit = _function.NewBlock();
        Terminate(new Jump(test));

        _current = test;
        LowerBranch(arguments[0], scope, body, exit);

        _current = body;
        for (var i = 1; i < arguments.Count; i++) Lower(arguments[i], scope);
        Terminate(new Jump(test));

        _current = exit;
        return Operand.Of(0);
    }

    // (set name value) = value. (set (f args...) v) means (set-f args... v), as Maru's expander
    // rewrites it; the expander normally did so already. Forms after the value are ignored, never
    // evaluated, as maru-2.4's interpreter and emit.l both do (eval.l relies on it).
    private Operand LowerSet(Datum form, List<Datum> arguments, Scope scope)
    {
        if (arguments.Count < 2)
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed set: expected (set name value)");
        if (arguments[0] is PairDatum { Head: SymbolDatum accessor } place && place.AsList() is { } placeItems)
        {
            var setter = new SymbolDatum("set-" + accessor.Name, accessor.Location);
            var rewritten = DatumExtensions.ToList([setter, .. placeItems.Skip(1), arguments[1]]);
            return LowerCombination((PairDatum)rewritten, scope);
        }
        if (arguments[0] is not SymbolDatum name)
            throw new CompilationError(DiagnosticCode.NotAssignable, arguments[0].Location, $"cannot assign to {DatumPrinter.Outline(arguments[0])}");
        var value = Lower(arguments[1], scope);
        if (scope.Lookup(name.Name) is { } local)
        {
            if (local.InMemory)
                Append(new Instruction(Opcode.StoreWord, null, [local.Storage, Operand.Of(0), value], null, form.Location));
            else
                Assign(local.Storage, value, form.Location);
            return value;
        }
        switch (_unit.Resolve(name.Name))
        {
            case IntegerDefinition or StringDefinition:
                Append(new Instruction(Opcode.StoreGlobal, null, [value], name.Name, form.Location));
                return value;
            case FunctionDefinition or ExternDefinition:
                throw new CompilationError(DiagnosticCode.NotAssignable, name.Location, $"cannot assign to '{name.Name}': it is a function");
        }
        throw Unknown(name, "variable");
    }

    // A condition only tested (if's, while's) ends the current block in a branch to ifTrue or
    // ifFalse. (and ...) and (or ...) there are short-circuit jumps between the blocks of their
    // operands, with no value merged and tested again: each operand's test decides its own edges,
    // so the block of a later operand dominates what the whole condition guards.
    private void LowerBranch(Datum condition, Scope scope, BasicBlock ifTrue, BasicBlock ifFalse)
    {
        if (condition is PairDatum { Head: SymbolDatum { Name: "and" or "or" } head } form
            && scope.Lookup(head.Name) is null && IsProperList(form.Tail) && form.Tail is PairDatum)
        {
            if (++_depth > MaxDepth)
                throw new CompilationError(DiagnosticCode.NestingTooDeep, form.Location, $"expression nested more than {MaxDepth} levels deep");
            try
            {
                RuntimeHelpers.EnsureSufficientExecutionStack();
                var isAnd = head.Name == "and";
                for (var rest = (PairDatum)form.Tail; ; rest = (PairDatum)rest.Tail)
                {
                    if (rest.Tail is not PairDatum)
                    {
                        LowerBranch(rest.Head, scope, ifTrue, ifFalse);
                        return;
                    }
                    var next = _function.NewBlock();
                    LowerBranch(rest.Head, scope, isAnd ? next : ifTrue, isAnd ? ifFalse : next);
                    _current = next;
                }
            }
            catch (InsufficientExecutionStackException)
            {
                throw new CompilationError(DiagnosticCode.NestingTooDeep, form.Location, "expression nested too deeply to compile");
            }
            finally
            {
                _depth--;
            }
        }
        Terminate(new Branch(Lower(condition, scope), ifTrue, ifFalse));
    }

    // (and) = 1, (or) = 0; otherwise the last value evaluated.
    private Operand LowerAndOr(List<Datum> arguments, Scope scope, bool isAnd)
    {
        if (arguments.Count == 0) return Operand.Of(isAnd ? 1 : 0);
        var result = _function.NewRegister();
        var done = _function.NewBlock();
        for (var i = 0; i < arguments.Count; i++)
        {
            var value = Lower(arguments[i], scope);
            Assign(result, value, arguments[i].Location);
            if (i == arguments.Count - 1)
            {
                Terminate(new Jump(done));
                break;
            }
            var next = _function.NewBlock();
            Terminate(isAnd ? new Branch(result, next, done) : new Branch(result, done, next));
            _current = next;
        }
        _current = done;
        return result;
    }

    // (return value...) leaves the function with the last value (0 when there is none).
    private Operand LowerReturn(List<Datum> arguments, Scope scope)
    {
        var value = LowerSequence(arguments, scope);
        Terminate(new Return(value));
        _current = _function.NewBlock(); // whatever follows is unreachable; later passes drop it
        return Operand.Of(0);
    }

    // (address-of name): a local's frame block, or a global's data word.
    private Operand LowerAddressOf(Datum form, List<Datum> arguments, Scope scope)
    {
        if (arguments is not [SymbolDatum name])
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed address-of: expected (address-of variable)");
        if (scope.Lookup(name.Name) is { } local)
            return Emit(Opcode.Copy, form.Location, null, local.Storage); // InMemory: Storage holds the address
        switch (_unit.Resolve(name.Name))
        {
            case IntegerDefinition or StringDefinition:
                return Emit(Opcode.GlobalAddress, form.Location, name.Name);
            case FunctionDefinition:
                return Emit(Opcode.FunctionAddress, form.Location, name.Name);
            case ExternDefinition:
                throw new CompilationError(DiagnosticCode.NotAssignable, name.Location, $"'{name.Name}' is an imported function; use its value, not its address");
        }
        throw Unknown(name, "variable");
    }

    // ---- variables ----------------------------------------------------------------------------

    /// <summary>A new variable holding <paramref name="initial"/>: a register, or a frame block when its address is taken.</summary>
    private Variable NewVariable(string name, Operand initial, SourceLocation location)
    {
        if (!_addressTaken.Contains(name))
        {
            var register = _function.NewRegister();
            Append(new Instruction(Opcode.Copy, register, [initial], null, location));
            return new Variable(register, InMemory: false);
        }
        // Frame blocks are allocated once, in the entry block, so a loop never grows the frame.
        var address = _function.NewRegister();
        _allocas.Add(new Instruction(Opcode.Alloca, address, [Operand.Of(8)], null, location));
        Append(new Instruction(Opcode.StoreWord, null, [address, Operand.Of(0), initial], null, location));
        return new Variable(address, InMemory: true);
    }

    /// <summary>The frame blocks so far, in order: they open the entry block once the body is lowered (inserting each there as it came was quadratic in a long entry block).</summary>
    private readonly List<Instruction> _allocas = new();

    /// <summary>
    /// Names that appear in (address-of name) anywhere in the body: such locals must live in memory.
    /// This walk is also the one place that sees the whole body before lowering, so it enforces
    /// <see cref="MaxBodyNodes"/>: the body's pairs can be shared with compile-time data and
    /// mutated after expansion (set-cdr making a cycle), which lowering's own walks would follow forever.
    /// </summary>
    private static HashSet<string> AddressTakenNames(FunctionDefinition definition)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var work = new DatumStack();
        foreach (var form in definition.Body) work.Push(form);
        // The budget counts every datum reached (each form, and each pair's element and rest), as a walk pushing them all would.
        long budget = MaxBodyNodes - (long)definition.Body.Count;
        if (budget < 0) throw TooLarge();
        while (work.Count > 0)
        {
            // Down each list's spine in a loop: only elements that are lists wait on the stack.
            for (var datum = work.Pop(); datum is PairDatum pair; datum = pair.Tail)
            {
                if ((budget -= 2) < 0) throw TooLarge();
                if (pair.Head.IsSymbol("address-of") && pair.Tail is PairDatum { Head: SymbolDatum target })
                    names.Add(target.Name);
                if (pair.Head is PairDatum) work.Push(pair.Head);
            }
        }
        return names;

        CompilationError TooLarge() => new(DiagnosticCode.FunctionTooLarge, definition.Location,
            $"the code of '{definition.Name}' is circular or has more than {MaxBodyNodes.ToString("N0", CultureInfo.InvariantCulture)} nodes " +
            "(did compile-time code change it with set-car/set-cdr after it was expanded?)");
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Operand LowerSequence(IReadOnlyList<Datum> forms, Scope scope, int start = 0)
    {
        var value = Operand.Of(0);
        for (var i = start; i < forms.Count; i++) value = Lower(forms[i], scope);
        return value;
    }

    /// <summary>
    /// The elements after a combination's head (null for a dotted list), in a list from
    /// <see cref="_freeArgumentLists"/> that <see cref="LowerCombination(PairDatum, Scope)"/> gives
    /// back when done: lowering does this for every combination of the program, so the lists live
    /// only as deep as the nesting and a function makes a handful, not one per combination.
    /// </summary>
    private List<Datum>? ArgumentsOf(PairDatum form)
    {
        var count = 0;
        var tail = form.Tail;
        for (; tail is PairDatum pair; tail = pair.Tail) count++;
        if (tail is not NilDatum) return null;
        var arguments = _freeArgumentLists.Pop();
        // Filled through a span: a List<Datum>'s Add checks array covariance on every store (Datum is not sealed).
        CollectionsMarshal.SetCount(arguments, count);
        var items = CollectionsMarshal.AsSpan(arguments);
        count = 0;
        for (var rest = form.Tail; rest is PairDatum pair; rest = pair.Tail) items[count++] = pair.Head;
        return arguments;
    }

    private readonly FreeLists _freeArgumentLists = new();

    /// <summary>
    /// The free argument lists, a stack in an array: a popped list stays in its entry, and lists nest,
    /// so the one given back usually goes to the entry it came from and needs no store.
    /// </summary>
    private sealed class FreeLists
    {
        private List<Datum>[] _items = new List<Datum>[8];
        private int _count;

        public List<Datum> Pop() => _count > 0 ? _items[--_count] : new List<Datum>();

        public void Push(List<Datum> list)
        {
            if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
            if (!ReferenceEquals(_items[_count], list)) ExactArray.Set(_items, _count, list);
            _count++;
        }
    }

    private static bool IsProperList(Datum datum)
    {
        for (; datum is PairDatum pair; datum = pair.Tail) { }
        return datum is NilDatum;
    }

    private Operand[] LowerAll(IReadOnlyList<Datum> forms, Scope scope)
    {
        var operands = new Operand[forms.Count];
        for (var i = 0; i < forms.Count; i++) operands[i] = Lower(forms[i], scope);
        return operands;
    }

    /// <summary>A call through an import's GOT slot, carrying where a variadic callee's "..." starts.</summary>
    private VReg EmitImportCall(ExternDefinition external, SourceLocation location, Operand[] operands)
    {
        var destination = _function.NewRegister();
        Append(new Instruction(Opcode.CallImport, destination, operands, external.Symbol, location)
        {
            FixedArguments = external.FixedParameters is { } count ? Math.Min(count, operands.Length) : null,
        });
        return destination;
    }

    private VReg Emit(Opcode op, SourceLocation location, string? symbol, params Operand[] operands)
    {
        var destination = _function.NewRegister();
        Append(new Instruction(op, destination, operands, symbol, location));
        return destination;
    }

    private void Assign(VReg variable, Operand value, SourceLocation location) =>
        Append(new Instruction(Opcode.Copy, variable, [value], null, location));

    private void Append(Instruction instruction) => _current.Instructions.Add(instruction);

    private void Terminate(Terminator terminator) => _current.Terminator = terminator;

    private CompilationError Unknown(SymbolDatum name, string what)
    {
        if (_unit.DefinedByLoadedFiles.TryGetValue(name.Name, out var loaded) && loaded.Problem is { } problem)
            return new CompilationError(DiagnosticCode.CompileTimeOnly, name.Location,
                $"'{name.Name}' is defined at {loaded.DefinedAt}, in a file read by load/require, and compiled code uses it, but it cannot be compiled: {problem}");
        return _unit.IsCompileTimeOnly(name.Name)
            ? new CompilationError(DiagnosticCode.CompileTimeOnly, name.Location,
                $"'{name.Name}' exists only at compile time and cannot be used by compiled code; define it between (compile-begin) and (compile-end) to compile it")
            : new CompilationError(DiagnosticCode.UnknownVariable, name.Location, $"unknown {what} '{name.Name}'");
    }

    private static CompilationError NotCompilable(Datum form) =>
        new(DiagnosticCode.NotCompilable, form.Location, $"{DatumPrinter.Outline(form)} is not compilable");

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
