module proflow.test/pproftarget

go 1.19
