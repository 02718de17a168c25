using System.CommandLine;

namespace Maru.Tests.Shared;

/// <summary>What a batch checker (the differential tester, the fuzzer) was asked to do.</summary>
internal sealed record BatchRun(long Count, int Seed, int Jobs, int MaxFailures, bool Print);

/// <summary>
/// The command-line options the long-running checkers share (inputs <c>--seed</c> .. seed+count-1,
/// parallelism, when to give up), on System.CommandLine so help, errors and response files
/// behave as in maruc. Each checker adds its own options to the same command.
/// </summary>
internal sealed class BatchOptions
{
    private readonly Option<long> _count = new("--count") { Description = "How many inputs to check.", DefaultValueFactory = _ => 10_000, HelpName = "n" };
    private readonly Option<int> _seed = new("--seed") { Description = "The first input's seed; input i is generated from seed + i.", DefaultValueFactory = _ => 1, HelpName = "s" };
    private readonly Option<int> _jobs = new("--jobs") { Description = "Inputs checked in parallel.", DefaultValueFactory = _ => Environment.ProcessorCount, HelpName = "j" };
    private readonly Option<int> _maxFailures = new("--max-failures") { Description = "Stop after this many failures.", DefaultValueFactory = _ => 10, HelpName = "m" };
    private readonly Option<bool> _print = new("--print") { Description = "Print the inputs instead of checking them." };

    public BatchOptions(Command command)
    {
        foreach (var option in new Option[] { _count, _jobs, _maxFailures })
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<object>() is long and < 1 or int and < 1)
                    result.AddError($"{result.Option.Name} must be at least 1");
            });
        foreach (var option in new Option[] { _count, _seed, _jobs, _maxFailures, _print }) command.Options.Add(option);
        // Seeds are ints: the last input's seed must be one too.
        command.Validators.Add(result =>
        {
            if ((long)result.GetValue(_seed) + result.GetValue(_count) - 1 > int.MaxValue)
                result.AddError("--seed plus --count must stay below 2^31");
        });
    }

    public BatchRun Read(ParseResult parse) =>
        new(parse.GetValue(_count), parse.GetValue(_seed), parse.GetValue(_jobs), parse.GetValue(_maxFailures), parse.GetValue(_print));
}
