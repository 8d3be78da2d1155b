-- director {business_id}: the design brief the architect builds from (kept
-- in agent_outputs, then in generated_sites.design_brief).
local agent_stage = require "lib.agent_stage"

return {
    kind = "director",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
    run = function(job)
        return agent_stage.run(job, "director", nil, "architect")
    end,
}
