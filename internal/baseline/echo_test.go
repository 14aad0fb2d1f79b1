package baseline

import (
	"sync"
	"testing"
)

func TestEchoRoundTrips(t *testing.T) {
	e, err := StartEcho("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c, err := Dial(e.Addr(), 100)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for j := 0; j < 100; j++ {
				if err := c.RoundTrip(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
