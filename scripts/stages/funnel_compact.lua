-- Folds funnel_hourly's change rows into one per hour (migration 029): the
-- triggers append a row per changing statement so that writers never wait
-- on a shared counter, and the overview sums fewer rows once folded. The
-- sums are the same before and after, so this only keeps the reads short.
return {
    kind = "funnel_compact",
    concurrency = 1,
    timeout = 60,
    run = function()
        assert(wm.db.query("SELECT funnel_hourly_compact()"))
        return true
    end,
}
