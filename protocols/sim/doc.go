// Package sim runs protocol cores in a seeded, deterministic simulation of a
// faulty network and checks that they stay safe and live.
//
// A Sim holds n cores (each with its own application), simulated clients
// and a virtual network whose every choice (delays, loss, duplication,
// reordering, partitions, crashes) comes from one generator seeded by
// Config.Seed, so a seed replays a run exactly. Time is the cores' tick.
//
// Run is the randomised mode behind `replbench sim`: a fault phase, then a
// liveness phase without faults, with the checkers watching throughout:
//
//   - executions: every replica's positions strictly increase, replicas
//     agree on the request at every position, no request takes two;
//   - results: a result a client accepts (F+1 matching replies) is the one
//     the application returned for that request at its agreed position;
//   - checkpoints: replicas agree on the digest at every checkpoint;
//   - liveness: once faults stop, every request completes within a budget.
//
// New, Tick, Crash, Restart, Partition, Heal, Submit, DeliverAll and
// RunUntil drive the same machinery by hand, for scripted tests. See
// docs/simulator.md.
package sim
