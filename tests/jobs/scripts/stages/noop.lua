-- Test and benchmark stage: does nothing.
return { kind = "noop", concurrency = 200, timeout = 10, run = function(job) return true end }
