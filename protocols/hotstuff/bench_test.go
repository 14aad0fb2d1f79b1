package hotstuff

import (
	"testing"
)

// BenchmarkCluster measures the cores' own cost per request: four replicas
// in one goroutine, batches of 10, ten clients with a request each per
// round, messages delivered at once and sealed without authenticators.
func BenchmarkCluster(b *testing.B) {
	c := newCluster(&testing.T{}, func(cfg *Config) { cfg.BatchSize = 10 })
	payload := "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round := uint64(i + 1)
		for client := uint32(0); client < 10; client++ {
			c.request(client, round, payload)
		}
		c.run()
	}
	b.StopTimer()
	c.tick(10)
	if _, execs := c.cores[0].Committed(); execs != uint64(10*b.N) {
		b.Fatalf("executed %d of %d requests\n%s", execs, 10*b.N, c.status())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(10*b.N), "ns/request")
}
