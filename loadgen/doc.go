// Package loadgen drives closed-loop or open-loop load through asynchronous
// Callers and records per-request latency into HDR histograms.
//
// # Units
//
// Every histogram value is a latency in microseconds, recorded with three
// significant figures between 1 µs and 60 s; a latency above 60 s is recorded
// as 60 s. Timeline and Summary fields are in microseconds too.
//
// # Phases
//
// A run issues requests for Warmup+Duration+Cooldown, then waits up to Grace
// for requests still in flight. A completion belongs to the phase in which it
// completed; completions after the cool-down (while draining) belong to the
// cool-down, and to its last timeline slot, which ends when the run does. Only the measure phase feeds Result.Latency, Result.Uncorrected,
// Result.Completed, Result.Errors and Result.Throughput.
//
// # Coordinated omission
//
// In the open loop a request is due at a time the Pacer fixes in advance. If
// the system under test (or the caller) falls behind, the request is sent late,
// and its corrected latency (Result.Latency) counts from when it was due, as
// wrk2 does; Result.Uncorrected counts from when it was actually sent. In the
// closed loop a request is due when it is sent, so the two are the same.
//
// # Payloads
//
// A Workload gives each caller a Source of payloads: Fixed sends the same
// bytes every time (the default, Config.Payload zero bytes), and NewYCSB
// makes gets and puts for the kv application, with keys drawn uniformly or
// from a Zipfian distribution. Each caller draws from its own seeded
// stream, so a run's requests are repeatable without locks.
package loadgen
