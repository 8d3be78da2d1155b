-- concept {business_id}: the creative DNA (archetype, angle, visual theme,
-- tone of voice, design system), kept in businesses.creative_dna.
local agent_stage = require "lib.agent_stage"

return {
    kind = "concept",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
    run = function(job)
        return agent_stage.run(job, "concept", function(q, b, out)
            assert(q:query("UPDATE businesses SET creative_dna = $2::jsonb, updated_at = now() WHERE id = $1",
                           b.id, out))
        end, "director")
    end,
}
