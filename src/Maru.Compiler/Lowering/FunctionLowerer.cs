using System.Runtime.CompilerServices;
using Maru.Compiler.Diagnostics;
using Maru.Compiler.Evaluation;
using Maru.Compiler.Ir;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Lowering;

/// <summary>
/// Lowers one function's body forms to IR: names are resolved against the function's scopes and the
/// compilation unit, control forms become basic blocks, and every expression yields an operand.
/// Operands are evaluated left to right, and a variable read is copied into a fresh register so a
/// later <c>set</c> among the siblings cannot change a value already taken.
/// </summary>
internal sealed class FunctionLowerer
{
    /// <summary>Deeper than any sensible program; keeps the build's own stack safe on hostile input.</summary>
    private const int MaxDepth = 1500;

    private readonly CompilationUnit _unit;
    private readonly IrFunction _function;
    private BasicBlock _current;
    private int _depth;

    private FunctionLowerer(CompilationUnit unit, IrFunction function)
    {
        _unit = unit;
        _function = function;
        _current = function.NewBlock();
    }

    public static IrFunction Lower(FunctionDefinition definition, CompilationUnit unit)
    {
        var function = new IrFunction(definition.Name, definition.Parameters.Count, definition.Location);
        var lowerer = new FunctionLowerer(unit, function);
        var scope = new Scope(parent: null);
        for (var i = 0; i < definition.Parameters.Count; i++)
            scope.Bind(definition.Parameters[i].Name, function.Parameter(i));
        var result = lowerer.LowerSequence(definition.Body, scope, definition.Location);
        lowerer.Terminate(new Return(result));
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
                SymbolDatum symbol => LowerVariable(symbol, scope),
                PairDatum pair => LowerCombination(pair, scope),
                RealDatum => throw new CompilationError(DiagnosticCode.NotCompilable, form.Location, "floating-point numbers are not compilable: compiled Maru works on 64-bit integer words"),
                StringDatum => throw new CompilationError(DiagnosticCode.UnsupportedForm, form.Location, "string literals are not supported by this version of the compiler yet"),
                _ => throw new CompilationError(DiagnosticCode.NotCompilable, form.Location, $"{DatumPrinter.Outline(form)} is not compilable"),
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
            return Emit(Opcode.Copy, symbol.Location, local);
        switch (_unit.Lookup(symbol.Name))
        {
            case IntegerDefinition global:
                return EmitGlobalLoad(global.Name, symbol.Location);
            case FunctionDefinition:
                throw new CompilationError(DiagnosticCode.UnsupportedForm, symbol.Location,
                    $"using function '{symbol.Name}' as a value is not supported by this version of the compiler yet; call it instead");
        }
        if (Operators.IsOperator(symbol.Name))
            throw new CompilationError(DiagnosticCode.NotCompilable, symbol.Location, $"operator '{symbol.Name}' can only be applied, not used as a value");
        throw new CompilationError(DiagnosticCode.UnknownVariable, symbol.Location, $"unknown variable '{symbol.Name}'");
    }

    private Operand LowerCombination(PairDatum form, Scope scope)
    {
        var items = form.AsList()
            ?? throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, $"{DatumPrinter.Outline(form)} is a dotted list, not a form");
        var arguments = items.Skip(1).ToList();
        if (form.Head is not SymbolDatum head)
            throw new CompilationError(DiagnosticCode.UnsupportedForm, form.Location,
                "calling the value of an expression is not supported by this version of the compiler yet");

        if (scope.Lookup(head.Name) is not null)
            throw new CompilationError(DiagnosticCode.UnsupportedForm, head.Location,
                $"calling through the local variable '{head.Name}' is not supported by this version of the compiler yet");

        switch (head.Name)
        {
            case "let": return LowerLet(form, arguments, scope);
            case "if": return LowerIf(arguments, scope);
            case "while": return LowerWhile(form, arguments, scope);
            case "set": return LowerSet(form, arguments, scope);
            case "and": return LowerAndOr(arguments, scope, isAnd: true);
            case "or": return LowerAndOr(arguments, scope, isAnd: false);
            case "return": return LowerReturn(arguments, scope, form.Location);
            case "quote":
            case "quasiquote":
                throw new CompilationError(DiagnosticCode.NotCompilable, form.Location,
                    "quoted data exists only at compile time and cannot be compiled into a function");
            case "lambda":
                throw new CompilationError(DiagnosticCode.NotCompilable, form.Location,
                    "a lambda inside a function would be a closure; only top-level functions are compilable");
        }

        if (_unit.Lookup(head.Name) is { } definition)
            return LowerCall(head, definition, arguments, scope);

        if (arguments.Count == 1 && Operators.Unary.TryGetValue(head.Name, out var unary))
            return Emit(unary, form.Location, Lower(arguments[0], scope));
        if (arguments.Count == 2 && Operators.Binary.TryGetValue(head.Name, out var binary))
        {
            var left = Lower(arguments[0], scope);
            var right = Lower(arguments[1], scope);
            return Emit(binary, form.Location, left, right);
        }
        if (Operators.IsOperator(head.Name))
        {
            var expected = Operators.Unary.ContainsKey(head.Name)
                ? Operators.Binary.ContainsKey(head.Name) ? "1 or 2 operands" : "1 operand"
                : "2 operands";
            throw new CompilationError(DiagnosticCode.WrongOperandCount, form.Location,
                $"operator '{head.Name}' takes {expected}, but {arguments.Count} {(arguments.Count == 1 ? "was" : "were")} given");
        }
        throw new CompilationError(DiagnosticCode.UnknownVariable, head.Location, $"unknown function '{head.Name}'");
    }

    private Operand LowerCall(SymbolDatum head, Definition definition, List<Datum> arguments, Scope scope)
    {
        if (definition is not FunctionDefinition function)
            throw new CompilationError(DiagnosticCode.UnsupportedForm, head.Location,
                $"'{head.Name}' is an integer global; calling through it is not supported by this version of the compiler yet");
        if (arguments.Count != function.Parameters.Count)
            throw new CompilationError(DiagnosticCode.WrongArgumentCount, head.Location,
                $"'{head.Name}' takes {Plural(function.Parameters.Count, "argument")} but is called with {arguments.Count} (defined at {function.Location})");
        var operands = arguments.Select(argument => Lower(argument, scope)).ToArray();
        var result = _function.NewRegister();
        Append(new Instruction(Opcode.Call, result, operands, function.Name, head.Location));
        return result;
    }

    // ---- special forms ------------------------------------------------------------------------

    // (let ((name expr...) | name ...) body...): every init is evaluated in the OUTER scope, in order;
    // a binding with several expressions takes the last, one with none is 0.
    private Operand LowerLet(Datum form, List<Datum> arguments, Scope scope)
    {
        if (arguments.Count == 0 || arguments[0].AsList() is not { } bindings)
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed let: expected (let ((name value...) ...) body...)");
        var inner = new Scope(scope);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var binding in bindings)
        {
            SymbolDatum name;
            IReadOnlyList<Datum> inits;
            if (binding is SymbolDatum bare)
            {
                name = bare;
                inits = [];
            }
            else if (binding.AsList() is [SymbolDatum bound, .. var values])
            {
                name = bound;
                inits = values;
            }
            else
            {
                throw new CompilationError(DiagnosticCode.MalformedForm, binding.Location, $"malformed let binding {DatumPrinter.Outline(binding)}: expected (name value...)");
            }
            if (!seen.Add(name.Name))
                throw new CompilationError(DiagnosticCode.DuplicateParameter, name.Location, $"'{name.Name}' is bound twice in the same let");
            var value = LowerSequence(inits, scope, name.Location);
            var variable = _function.NewRegister();
            Append(new Instruction(Opcode.Copy, variable, [value], null, name.Location));
            inner.Bind(name.Name, variable);
        }
        return LowerSequence(arguments.Skip(1).ToList(), inner, form.Location);
    }

    // (if) = 0; (if c) = c evaluated, then 0; (if c then else...) runs the else forms in order.
    private Operand LowerIf(List<Datum> arguments, Scope scope)
    {
        if (arguments.Count == 0) return Operand.Of(0);
        var condition = Lower(arguments[0], scope);
        var result = _function.NewRegister();
        var thenBlock = _function.NewBlock();
        var elseBlock = _function.NewBlock();
        var join = _function.NewBlock();
        Terminate(new Branch(condition, thenBlock, elseBlock));

        _current = thenBlock;
        var thenValue = arguments.Count > 1 ? Lower(arguments[1], scope) : Operand.Of(0);
        Assign(result, thenValue, arguments[0].Location);
        Terminate(new Jump(join));

        _current = elseBlock;
        var elseValue = LowerSequence(arguments.Skip(2).ToList(), scope, arguments[0].Location);
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
        var condition = Lower(arguments[0], scope);
        Terminate(new Branch(condition, body, exit));

        _current = body;
        foreach (var statement in arguments.Skip(1)) Lower(statement, scope);
        Terminate(new Jump(test));

        _current = exit;
        return Operand.Of(0);
    }

    // (set name value) = value
    private Operand LowerSet(Datum form, List<Datum> arguments, Scope scope)
    {
        if (arguments.Count != 2)
            throw new CompilationError(DiagnosticCode.MalformedForm, form.Location, "malformed set: expected (set name value)");
        if (arguments[0] is PairDatum)
            throw new CompilationError(DiagnosticCode.UnsupportedForm, form.Location,
                "(set (accessor ...) value) needs the macro expander, which is not available in this version yet");
        if (arguments[0] is not SymbolDatum name)
            throw new CompilationError(DiagnosticCode.NotAssignable, arguments[0].Location, $"cannot assign to {DatumPrinter.Outline(arguments[0])}");
        var value = Lower(arguments[1], scope);
        if (scope.Lookup(name.Name) is { } local)
        {
            Assign(local, value, form.Location);
            return value;
        }
        switch (_unit.Lookup(name.Name))
        {
            case IntegerDefinition global:
                Append(new Instruction(Opcode.StoreGlobal, null, [value], global.Name, form.Location));
                return value;
            case FunctionDefinition:
                throw new CompilationError(DiagnosticCode.NotAssignable, name.Location, $"cannot assign to '{name.Name}': it is a function");
        }
        throw new CompilationError(DiagnosticCode.UnknownVariable, name.Location, $"unknown variable '{name.Name}'");
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
    private Operand LowerReturn(List<Datum> arguments, Scope scope, SourceLocation location)
    {
        var value = LowerSequence(arguments, scope, location);
        Terminate(new Return(value));
        _current = _function.NewBlock(); // whatever follows is unreachable; later passes drop it
        return Operand.Of(0);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Operand LowerSequence(IReadOnlyList<Datum> forms, Scope scope, SourceLocation location)
    {
        var value = Operand.Of(0);
        foreach (var form in forms) value = Lower(form, scope);
        return value;
    }

    private VReg Emit(Opcode op, SourceLocation location, params Operand[] operands)
    {
        var destination = _function.NewRegister();
        Append(new Instruction(op, destination, operands, null, location));
        return destination;
    }

    private Operand EmitGlobalLoad(string name, SourceLocation location)
    {
        var destination = _function.NewRegister();
        Append(new Instruction(Opcode.LoadGlobal, destination, [], name, location));
        return destination;
    }

    private void Assign(VReg variable, Operand value, SourceLocation location) =>
        Append(new Instruction(Opcode.Copy, variable, [value], null, location));

    private void Append(Instruction instruction) => _current.Instructions.Add(instruction);

    private void Terminate(Terminator terminator) => _current.Terminator = terminator;

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
