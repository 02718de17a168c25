using Maru.Compiler.Diagnostics;
using Maru.Compiler.Syntax;

namespace Maru.Compiler.Evaluation;

// The special forms of maru-2.4 (its ".if", ".let" ... "fixed" subrs): they receive their call
// unevaluated. Their values follow the interpreter: (and) is t, (or) is (), while gives ().
internal sealed partial class Interpreter
{
    private void DefineSpecialForms()
    {
        // Marked: EvalConsChain answers a (quote x) argument without the call.
        Root.Define("quote", new SpecialForm("quote", (_, form, _) => Car(form.Tail)) { IsQuote = true }, SourceLocation.None);
        Special("if", If);
        Special("and", (interpreter, form, frame) =>
        {
            Datum result = True;
            for (var rest = form.Tail; rest is PairDatum p; rest = p.Tail)
                if ((result = interpreter.Eval(p.Head, frame)) is NilDatum)
                    break;
            return result;
        });
        Special("or", (interpreter, form, frame) =>
        {
            Datum result = NilDatum.Empty;
            for (var rest = form.Tail; rest is PairDatum p; rest = p.Tail)
                if ((result = interpreter.Eval(p.Head, frame)) is not NilDatum)
                    break;
            return result;
        });
        Special("while", While);
        Special("set", Set);
        Special("let", Let);
        Special("lambda", Lambda);
        Special("define", Define);
        Special("return", (_, form, _) => throw new EvaluationError(DiagnosticCode.NotCompilable, form.Location,
            "(return ...) can only be used in compiled functions, not in code evaluated at compile time"));
        Special("address-of", (_, form, _) => throw new EvaluationError(DiagnosticCode.NotCompilable, form.Location,
            "(address-of ...) can only be used in compiled functions, not in code evaluated at compile time"));
    }

    private void Special(string name, Func<Interpreter, PairDatum, Frame?, Datum> function) =>
        Root.Define(name, new SpecialForm(name, function), SourceLocation.None);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static Datum Car(Datum datum) => datum is PairDatum p ? p.Head : NilDatum.Empty;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static Datum Cdr(Datum datum) => datum is PairDatum p ? p.Tail : NilDatum.Empty;

    // (if test then else...)
    private static Datum If(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        var arguments = form.Tail;
        if (interpreter.Eval(Car(arguments), frame) is not NilDatum)
            return interpreter.Eval(Car(Cdr(arguments)), frame);
        Datum result = NilDatum.Empty;
        for (var rest = Cdr(Cdr(arguments)); rest is PairDatum p; rest = p.Tail)
            result = interpreter.Eval(p.Head, frame);
        return result;
    }

    // (while test body...)
    private static Datum While(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        var test = Car(form.Tail);
        while (interpreter.Eval(test, frame) is not NilDatum)
        {
            interpreter.CheckLimits(form.Location);
            for (var rest = Cdr(form.Tail); rest is PairDatum p; rest = p.Tail)
                interpreter.Eval(p.Head, frame);
        }
        return NilDatum.Empty;
    }

    // (set name value); (set (f args...) value) was rewritten to (set-f args... value) by the expander.
    private static Datum Set(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        if (Car(form.Tail) is not SymbolDatum name)
            throw new EvaluationError(DiagnosticCode.NotAssignable, form.Location, $"cannot assign to {DatumPrinter.Outline(Car(form.Tail))}");
        var value = interpreter.Eval(Car(Cdr(form.Tail)), frame);
        if (value is Closure { Name: null } closure) closure.Name = name.Name;
        interpreter.Assign(name, value, frame);
        return value;
    }

    // (let (name | (name expr...) ...) body...): every init runs in the OUTER scope; a binding
    // with several expressions takes the last.
    private static Datum Let(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        var inner = new Frame(frame);
        var bindings = Car(form.Tail);
        for (; bindings is PairDatum p; bindings = p.Tail)
        {
            switch (p.Head)
            {
                case SymbolDatum bare:
                    inner.Bind(bare.Name, NilDatum.Empty);
                    break;
                case PairDatum { Head: SymbolDatum name } binding:
                    Datum value = NilDatum.Empty;
                    for (var rest = binding.Tail; rest is PairDatum e; rest = e.Tail)
                        value = interpreter.Eval(e.Head, frame);
                    if (value is Closure { Name: null } closure) closure.Name = name.Name;
                    inner.Bind(name.Name, value);
                    break;
                default:
                    throw new EvaluationError(DiagnosticCode.MalformedForm, p.Head.Location,
                        $"malformed let binding {DatumPrinter.Outline(p.Head)}: expected name or (name value...)");
            }
        }
        Datum result = NilDatum.Empty;
        for (var rest = Cdr(form.Tail); rest is PairDatum b; rest = b.Tail)
            result = interpreter.Eval(b.Head, inner);
        return result;
    }

    // (lambda (params...) body...), (lambda (a . rest) ...), (lambda args ...)
    private static Datum Lambda(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        var parameters = Car(form.Tail);
        var rest = parameters;
        for (; rest is PairDatum p; rest = p.Tail)
            if (p.Head is not SymbolDatum)
                throw new EvaluationError(DiagnosticCode.MalformedForm, p.Head.Location, $"lambda parameter must be a symbol, not {DatumPrinter.Outline(p.Head)}");
        if (rest is not (SymbolDatum or NilDatum))
            throw new EvaluationError(DiagnosticCode.MalformedForm, rest.Location, $"lambda parameter must be a symbol, not {DatumPrinter.Outline(rest)}");
        var count = 0;
        for (rest = Cdr(form.Tail); rest is PairDatum p; rest = p.Tail) count++;
        if (rest is not NilDatum)
            throw new EvaluationError(DiagnosticCode.MalformedForm, form.Location, "malformed lambda: the body is a dotted list");
        var body = new Datum[count];
        count = 0;
        for (rest = Cdr(form.Tail); rest is PairDatum p; rest = p.Tail) body[count++] = p.Head;
        interpreter.Allocate(ClosureSize);
        return new Closure(parameters, body, frame, form.Location) { Home = frame?.Home ?? interpreter.Globals };
    }

    // (define name [value]): always binds in the current global environment.
    private static Datum Define(Interpreter interpreter, PairDatum form, Frame? frame)
    {
        if (Car(form.Tail) is not SymbolDatum name)
            throw new EvaluationError(DiagnosticCode.MalformedForm, form.Location, "malformed define: expected (define name value)");
        var value = interpreter.Eval(Car(Cdr(form.Tail)), frame);
        var target = value is FormValue f ? f.Function : value;
        if (target is Closure { Name: null } closure) closure.Name = name.Name;
        interpreter._session.OnDefine(interpreter.Globals, name.Name, value, form.Location);
        return value;
    }
}
