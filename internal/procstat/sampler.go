package procstat

import (
	"maps"
	"sync"
	"time"
)

// Series is what a Sampler recorded for one process.
type Series struct {
	PID     int      `json:"pid"`
	Samples []Sample `json:"samples"`
	// Err is why sampling of this process stopped early, or nil. A process
	// that exited gives an error that satisfies errors.Is(err, fs.ErrNotExist);
	// it is not sampled again, as its pid may be reused by another process.
	Err error `json:"-"`
}

// Sampler samples a set of named processes in a goroutine: once when it
// starts, at every tick, and once more when it stops, so that even a short
// run has a first and a last sample.
type Sampler struct {
	read   func(pid int) (Sample, error)
	pids   map[string]int
	series map[string]*Series
	tick   <-chan time.Time
	ticker *time.Ticker
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
}

// NewSampler starts sampling pids, keyed by name, every interval.
func NewSampler(pids map[string]int, interval time.Duration) *Sampler {
	t := time.NewTicker(interval)
	s := StartSampler(pids, t.C)
	s.ticker = t
	return s
}

// NewSamplerFunc is NewSampler with another way to read a process: the
// orchestrator reads processes on remote hosts over SSH.
func NewSamplerFunc(pids map[string]int, interval time.Duration, read func(pid int) (Sample, error)) *Sampler {
	t := time.NewTicker(interval)
	s := start(pids, t.C, read)
	s.ticker = t
	return s
}

// StartSampler starts sampling pids, keyed by name, whenever tick delivers.
func StartSampler(pids map[string]int, tick <-chan time.Time) *Sampler {
	return start(pids, tick, Read)
}

func start(pids map[string]int, tick <-chan time.Time, read func(int) (Sample, error)) *Sampler {
	s := &Sampler{
		read:   read,
		pids:   maps.Clone(pids),
		series: make(map[string]*Series, len(pids)),
		tick:   tick,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for name, pid := range s.pids {
		s.series[name] = &Series{PID: pid}
	}
	go s.loop()
	return s
}

func (s *Sampler) loop() {
	defer close(s.done)
	s.sample()
	for {
		select {
		case <-s.tick:
			s.sample()
		case <-s.stop:
			s.sample()
			return
		}
	}
}

func (s *Sampler) sample() {
	for name, pid := range s.pids {
		ser := s.series[name]
		if ser.Err != nil {
			continue
		}
		smp, err := s.read(pid)
		if err != nil {
			ser.Err = err
			continue
		}
		ser.Samples = append(ser.Samples, smp)
	}
}

// Stop takes a last sample, ends sampling and returns the series by name.
// Only the first call stops; later ones return the same series.
func (s *Sampler) Stop() map[string]Series {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	if s.ticker != nil {
		s.ticker.Stop()
	}
	out := make(map[string]Series, len(s.series))
	for name, ser := range s.series {
		out[name] = *ser
	}
	return out
}
