// gosync: the Go twins of the C benchmarks benches/c/rwmutex_read.c, rwmutex_write.c,
// once_done.c, select_ticker.c and timer_stop.c (the same work, in Go's sync and time packages).
//
// Usage: GOMAXPROCS=<p> gosync -workload <name> [-n <count>] [-deadline <seconds>]
//
// Prints one result line on stdout, in the format of benches/README.md:
//
//	workload=<name> procs=<GOMAXPROCS> n=<count> value=<number> unit=<unit> [extra]
//
// Every workload checks its own result and exits 1 on a wrong one; a watchdog ends
// the process with status 3 after -deadline seconds.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func result(name string, n int64, value float64, unit string, extra string) {
	line := fmt.Sprintf("workload=%s procs=%d n=%d value=%.3f unit=%s", name, runtime.GOMAXPROCS(0), n, value, unit)
	if extra != "" {
		line += " " + extra
	}
	fmt.Println(line)
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
	os.Exit(1)
}

func def(n, d int64) int64 {
	if n > 0 {
		return n
	}
	return d
}

var shared int64 = 7

// rwmutex_read: P goroutines each RLock+RUnlock n/P times; ns per pair and goroutine.
func rwmutexRead(total int64) {
	p := int64(runtime.GOMAXPROCS(0))
	per := total / p
	var rw sync.RWMutex
	var wg sync.WaitGroup
	wg.Add(int(p))
	start := time.Now()
	for i := int64(0); i < p; i++ {
		go func() {
			var sum int64
			for k := int64(0); k < per; k++ {
				rw.RLock()
				sum += shared
				rw.RUnlock()
			}
			if sum != 7*per {
				fail("rwmutex_read sum=%d want %d", sum, 7*per)
			}
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	result("rwmutex_read", per*p, float64(el.Nanoseconds())/float64(per), "ns/rlock+runlock", "")
}

// rwmutex_write: Lock+Unlock by one goroutine, a RLock+RUnlock every 1,000th round;
// ns per Lock+Unlock.
func rwmutexWrite(n int64) {
	var rw sync.RWMutex
	var x, r int64
	start := time.Now()
	for i := int64(0); i < n; i++ {
		rw.Lock()
		x++
		rw.Unlock()
		if i%1000 == 999 {
			rw.RLock()
			r += shared
			rw.RUnlock()
		}
	}
	el := time.Since(start)
	if x != n || r != 7*(n/1000) {
		fail("rwmutex_write x=%d r=%d", x, r)
	}
	result("rwmutex_write", n, float64(el.Nanoseconds())/float64(n), "ns/lock+unlock", "")
}

// once_done: Once.Do after the first call; ns per call.
func onceDone(n int64) {
	var once sync.Once
	runs := 0
	f := func() { runs++ }
	once.Do(f)
	start := time.Now()
	for i := int64(0); i < n; i++ {
		once.Do(f)
	}
	el := time.Since(start)
	if runs != 1 {
		fail("once_done runs=%d", runs)
	}
	result("once_done", n, float64(el.Nanoseconds())/float64(n), "ns/call", "")
}

// select_ticker: send into a channel of capacity 1, then select over it and a 1 ms
// ticker; ns per send+select.
func selectTicker(n int64) {
	c := make(chan int64, 1)
	tk := time.NewTicker(time.Millisecond)
	var got, ticks, sum int64
	start := time.Now()
	for i := int64(0); i < n; i++ {
		c <- i
	loop:
		for {
			select {
			case v := <-c:
				got++
				sum += v
				break loop
			case <-tk.C:
				ticks++
			}
		}
	}
	el := time.Since(start)
	tk.Stop()
	if got != n || sum != n*(n-1)/2 {
		fail("select_ticker got=%d sum=%d", got, sum)
	}
	result("select_ticker", n, float64(el.Nanoseconds())/float64(n), "ns/send+select", fmt.Sprintf("ticks=%d", ticks))
}

// timer_stop: NewTimer(1h) and Stop before it fires; ns per timer.
func timerStop(n int64) {
	var stopped int64
	start := time.Now()
	for i := int64(0); i < n; i++ {
		t := time.NewTimer(time.Hour)
		if t.Stop() {
			stopped++
		}
	}
	el := time.Since(start)
	if stopped != n {
		fail("timer_stop stopped=%d want %d", stopped, n)
	}
	result("timer_stop", n, float64(el.Nanoseconds())/float64(n), "ns/timer", "")
}

func main() {
	workload := flag.String("workload", "", "rwmutex_read, once_done, select_ticker or timer_stop")
	n := flag.Int64("n", 0, "count (0: the workload's default)")
	deadline := flag.Int("deadline", 60, "seconds before the watchdog ends the run")
	flag.Parse()
	go func() {
		time.Sleep(time.Duration(*deadline) * time.Second)
		fmt.Fprintln(os.Stderr, "FAIL: deadline exceeded")
		os.Exit(3)
	}()
	switch *workload {
	case "rwmutex_read":
		rwmutexRead(def(*n, 10000000))
	case "rwmutex_write":
		rwmutexWrite(def(*n, 2000000))
	case "once_done":
		onceDone(def(*n, 100000000))
	case "select_ticker":
		selectTicker(def(*n, 5000000))
	case "timer_stop":
		timerStop(def(*n, 2000000))
	default:
		fmt.Fprintf(os.Stderr, "gosync: unknown workload %q\n", *workload)
		os.Exit(2)
	}
}
