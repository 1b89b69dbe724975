module gosched/benches/go

go 1.19
