import fc from "fast-check";

// Property tests run from a fixed seed, so a run's outcome never depends on when it ran. Set
// FAST_CHECK_SEED to explore other inputs; a failure prints its seed and counterexample.
fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 20_261_201) });
