namespace NormSharp.Experiments;

/// <summary>
/// A claim of the reproduction suite: its id (the letter <c>--only</c> takes), whose claim it is, and how it is
/// run and judged. A new claim is one file in <c>Claims/</c> with a <see cref="ClaimDefinition"/> and one line in
/// <see cref="ReproductionSuite.Claims"/>. Claims that need the same training runs ask the runner for them by the
/// same run id: a run is trained once per reproduction and read back for every later claim.
/// </summary>
/// <param name="Id">The claim's letter(s), unique in the suite.</param>
/// <param name="Source">Whose claim it is.</param>
/// <param name="Summary">The claim in a few words, for <c>--help</c> and the report's list of claims not run.</param>
/// <param name="Run">Runs the claim's experiments in a suite context and judges them.</param>
/// <param name="Input">What it trains on: the image dataset, the text corpus, or nothing (a host loads only what the claims it runs need).</param>
/// <param name="Distributed">
/// Whether it trains data-parallel runs over several processes (Open MPI): left out when the runner has no
/// <see cref="ExperimentRunner.DistributedLauncher"/>.
/// </param>
public sealed record ClaimDefinition(string Id, ClaimSource Source, string Summary, Func<SuiteContext, ClaimResult> Run, ClaimInput Input = ClaimInput.Images, bool Distributed = false);
