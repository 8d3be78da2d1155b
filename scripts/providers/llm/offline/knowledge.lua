-- What the offline author knows about each trade: how to recognise it from a
-- category, what it offers, how a job goes, what people ask before hiring,
-- and the colours, type and themes that suit it. {name}, {city}, {trade} in
-- the texts are filled from the business. Plain data; the offline/ authors use it.

local SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
local SERIF = "Georgia, Cambria, 'Times New Roman', Times, serif"
local ROUNDED = "ui-rounded, 'SF Pro Rounded', 'Hiragino Maru Gothic ProN', system-ui, sans-serif"
local SLAB = "Rockwell, 'Rockwell Nova', 'DejaVu Serif', Georgia, serif"
local HUMANIST = "Seravek, 'Gill Sans Nova', Ubuntu, Calibri, 'DejaVu Sans', sans-serif"
local GEOMETRIC = "Avenir, 'Avenir Next', Corbel, 'URW Gothic', sans-serif"
local DIDONE = "Didot, 'Bodoni MT', 'Noto Serif Display', 'Times New Roman', serif"

local K = {}

K.fonts = { sans = SANS, serif = SERIF, rounded = ROUNDED, slab = SLAB, humanist = HUMANIST,
            geometric = GEOMETRIC, didone = DIDONE }

-- Recurring themes in reviews: the words that show them, the strength they
-- become, and the archetype they point to.
K.themes = {
    { key = "punctual", label = "punctuality and speed", strength = "Shows up on time and works fast",
      archetype = "The Hero",
      words = { "on time", "prompt", "promptly", "punctual", "same day", "same-day", "quick", "quickly", "fast",
                "right away", "within an hour", "showed up", "responded quickly", "emergency" } },
    { key = "price", label = "honest, fair prices", strength = "Honest, upfront pricing", archetype = "The Everyman",
      words = { "fair price", "fair", "reasonable", "affordable", "honest", "upfront", "no hidden", "great price",
                "good price", "worth every penny", "didn't overcharge", "saved me money" } },
    { key = "quality", label = "careful, high-quality work", strength = "Careful, high-quality work",
      archetype = "The Creator",
      words = { "quality", "excellent work", "great job", "great work", "perfect", "flawless", "beautiful",
                "amazing job", "top notch", "top-notch", "thorough", "attention to detail", "best" } },
    { key = "friendly", label = "friendly, patient people", strength = "Friendly, patient and kind",
      archetype = "The Caregiver",
      words = { "friendly", "kind", "courteous", "polite", "welcoming", "patient", "caring", "gentle", "sweet",
                "made me feel", "comfortable", "nice" } },
    { key = "clean", label = "how clean everything is left", strength = "Leaves every place clean and tidy",
      archetype = "The Innocent",
      words = { "clean", "tidy", "spotless", "cleaned up", "neat", "no mess" } },
    { key = "communication", label = "clear explanations of every step", strength = "Explains every step clearly",
      archetype = "The Sage",
      words = { "explained", "communication", "communicated", "kept me informed", "answered all", "responsive",
                "called back", "walked me through", "took the time" } },
    { key = "expertise", label = "real expertise", strength = "Knows the trade inside out", archetype = "The Sage",
      words = { "knowledgeable", "expert", "professional", "experienced", "knew exactly", "diagnosed",
                "skilled", "knows his stuff", "knows her stuff" } },
    { key = "taste", label = "food people come back for", strength = "Fresh food people come back for",
      archetype = "The Lover",
      words = { "delicious", "tasty", "fresh", "flavor", "flavour", "yummy", "mouth", "bread", "coffee" } },
}

K.tones = {
    ["The Hero"] = "Confident, direct, reassuring",
    ["The Caregiver"] = "Warm, patient, plain-spoken",
    ["The Sage"] = "Clear, knowledgeable, calm",
    ["The Everyman"] = "Honest, friendly, down to earth",
    ["The Creator"] = "Crafted, proud, detail-minded",
    ["The Ruler"] = "Assured, precise, premium",
    ["The Magician"] = "Inspiring, transformative, confident",
    ["The Jester"] = "Playful, upbeat, light",
    ["The Lover"] = "Sensory, warm, inviting",
    ["The Explorer"] = "Adventurous, open, energetic",
    ["The Innocent"] = "Fresh, simple, optimistic",
    ["The Outlaw"] = "Bold, blunt, unconventional",
}

-- Hero layout per archetype, in the director's words (the renderer reads
-- "split", "centered" and "band").
K.layouts = {
    ["The Hero"] = "split: the promise and a call button beside a bold shape, so calling is the first thing a visitor sees",
    ["The Everyman"] = "split: plain words on one side, a friendly shape on the other, the phone number close at hand",
    ["The Outlaw"] = "bold band: a full-width colour band with a blunt headline",
    ["The Caregiver"] = "centered: a calm, centered hero with plenty of space around the words",
    ["The Sage"] = "centered: a quiet centered hero that leads with expertise",
    ["The Ruler"] = "centered: a composed, symmetrical hero with generous margins",
    ["The Innocent"] = "centered: a light, airy centered hero",
    ["The Lover"] = "centered: a warm centered hero that lingers on the senses",
    ["The Creator"] = "bold band: a full-width band of colour that shows off the craft",
    ["The Jester"] = "bold band: a bright full-width band with a playful headline",
    ["The Explorer"] = "bold band: a wide band that feels open and outdoors",
    ["The Magician"] = "split: a before-and-after feel, words beside a transforming shape",
}

K.density = {
    ["The Hero"] = "balanced", ["The Everyman"] = "balanced", ["The Outlaw"] = "compact",
    ["The Caregiver"] = "airy", ["The Sage"] = "airy", ["The Ruler"] = "airy", ["The Innocent"] = "airy",
    ["The Lover"] = "airy", ["The Creator"] = "balanced", ["The Jester"] = "compact",
    ["The Explorer"] = "balanced", ["The Magician"] = "balanced",
}

local function svc(name, description)
    return { name = name, description = description }
end

local function step(title, description)
    return { title = title, description = description }
end

local function qa(question, answer)
    return { question = question, answer = answer }
end

-- Each trade. `match` patterns are tried in the order of K.trades against
-- the lower-cased category and subcategory.
K.trades = {
    {
        key = "hvac", trade = "heating and air conditioning company", short = "HVAC",
        match = { "hvac", "heating", "air condition", "furnace", "cooling", "heat pump" },
        archetypes = { "The Hero", "The Sage", "The Everyman" },
        services = {
            svc("AC repair", "Diagnosis and repair of air conditioners that blow warm air, leak or will not start."),
            svc("Furnace and heating repair", "Gas and electric furnaces, heat pumps and boilers brought back to life."),
            svc("New system installation", "Right-sized heating and cooling systems, installed and tested."),
            svc("Seasonal maintenance", "Spring and fall tune-ups that keep systems efficient and catch problems early."),
            svc("Thermostats", "Programmable and smart thermostats installed and set up with you."),
            svc("Indoor air quality", "Filters, humidifiers and duct checks for cleaner, more comfortable air."),
            svc("Duct repair", "Leaky or crushed ducts sealed so every room gets its share of air."),
        },
        process = {
            step("Call or message", "Tell us what the system is doing; we book the first open slot."),
            step("Diagnosis", "A technician finds the cause and explains the options before any work starts."),
            step("Repair or replace", "We fix it the same visit whenever the part is on the truck."),
            step("Check and tidy", "We test the system, show you the result and clean up."),
        },
        faq = {
            qa("Do you handle emergencies in {city}?", "Call us: when the heat or the AC is out we do our best to come the same day."),
            qa("How often should my system be serviced?", "Once a year for each of heating and cooling keeps most systems running well."),
            qa("Should I repair or replace my unit?", "We look at its age, its condition and the repair cost, and tell you plainly which makes sense."),
            qa("Do you give an estimate first?", "Yes. You hear the price before any work begins."),
        },
        palettes = {
            { primary = "#1d4ed8", secondary = "#dc2626", accent = "#f97316", background = "#ffffff", surface = "#f0f4fc", text = "#0f172a" },
            { primary = "#0369a1", secondary = "#ea580c", accent = "#38bdf8", background = "#fbfdff", surface = "#eaf3f9", text = "#0b1b29" },
        },
        fonts = { { "geometric", "sans" }, { "sans", "humanist" } },
        radius = 8,
        themes = { "cool blues and warm orange in flowing waves", "clean airflow lines on a crisp grid" },
        angles = { "Comfortable at home in {city}, whatever the weather", "Heating and cooling fixed right the first time" },
    },
    {
        key = "plumber", trade = "plumber", short = "plumbing",
        match = { "plumb", "drain", "sewer", "water heater", "rooter" },
        archetypes = { "The Hero", "The Everyman", "The Caregiver" },
        services = {
            svc("Leak repair", "Dripping taps, burst pipes and hidden leaks found and fixed before they do damage."),
            svc("Drain cleaning", "Slow and blocked sinks, showers and main lines cleared properly."),
            svc("Water heaters", "Tank and tankless water heaters repaired, replaced and installed."),
            svc("Toilet repair", "Running, leaking and clogged toilets repaired or replaced."),
            svc("Fixture installation", "Faucets, sinks, showers and disposals installed neatly."),
            svc("Sewer line service", "Camera inspection and repair of sewer and main lines."),
            svc("Emergency plumbing", "Fast help when water is where it should not be."),
        },
        process = {
            step("Call", "Tell us what is happening; we give you an arrival window you can count on."),
            step("Look and explain", "We find the cause and explain the fix and the price before we start."),
            step("Fix it", "The work is done carefully, with your floors and fixtures protected."),
            step("Clean up", "We test everything and leave the space as clean as we found it."),
        },
        faq = {
            qa("Do you take emergency calls in {city}?", "Yes. Call us and we will tell you how soon we can be there."),
            qa("Will I know the price before you start?", "Yes. We explain the work and the price first, and start only when you agree."),
            qa("Can you fix a water heater the same day?", "Often, yes: many repairs are done on the first visit."),
            qa("What should I do while I wait?", "Turn off the water at the shut-off valve if you can, and keep the area dry."),
        },
        palettes = {
            { primary = "#1565c0", secondary = "#0e7490", accent = "#f59e0b", background = "#ffffff", surface = "#eef5fb", text = "#10243a" },
            { primary = "#0b5e8e", secondary = "#1f7a6d", accent = "#f97316", background = "#fbfdff", surface = "#e8f1f7", text = "#0f1f2e" },
        },
        fonts = { { "sans", "sans" }, { "geometric", "humanist" } },
        radius = 8,
        themes = { "clean water blues with soft waves", "crisp blue tiles on a tidy grid" },
        angles = { "The {city} plumber neighbours call first", "Fast, tidy plumbing help when water goes where it should not" },
    },
    {
        key = "electrician", trade = "electrician", short = "electrical",
        match = { "electric" },
        archetypes = { "The Sage", "The Hero", "The Ruler" },
        services = {
            svc("Troubleshooting", "Flickering lights, dead outlets and tripping breakers traced to the cause."),
            svc("Panel upgrades", "Old or overloaded panels replaced for safe, modern capacity."),
            svc("Lighting", "Indoor, outdoor and recessed lighting planned and installed."),
            svc("Outlets and switches", "New circuits, GFCI outlets, dimmers and USB outlets."),
            svc("EV chargers", "Home charging stations installed on a dedicated circuit."),
            svc("Ceiling fans", "Fans installed and wired safely, including new boxes where needed."),
            svc("Safety inspections", "A room-by-room check for home purchases, renovations and peace of mind."),
        },
        process = {
            step("Describe the job", "Call or message with what you need; photos help."),
            step("Assess safely", "We check the wiring and the panel and explain what we find."),
            step("Do the work to code", "Clean, labelled work done to code."),
            step("Test and walk through", "Everything is tested and shown to you before we leave."),
        },
        faq = {
            qa("Is a flickering light dangerous?", "It can be a loose connection, so it is worth having it checked."),
            qa("Do you work on older homes in {city}?", "Yes, including older wiring and panels."),
            qa("Can you install an EV charger?", "Yes. We check your panel's capacity and install a dedicated circuit."),
            qa("Do you clean up after the job?", "Always: no dust or offcuts left behind."),
        },
        palettes = {
            { primary = "#b45309", secondary = "#1f2937", accent = "#facc15", background = "#fffdf7", surface = "#fdf3dc", text = "#1c1917" },
            { primary = "#1e3a8a", secondary = "#ca8a04", accent = "#fde047", background = "#ffffff", surface = "#f1f4fb", text = "#111827" },
        },
        fonts = { { "geometric", "sans" }, { "slab", "sans" } },
        radius = 6,
        themes = { "bright sparks of yellow on a precise grid", "sharp geometric blocks with a charge of amber" },
        angles = { "Safe, tidy electrical work for {city} homes", "The electrician who explains before he wires" },
    },
    {
        key = "roofer", trade = "roofer", short = "roofing",
        match = { "roof", "gutter" },
        archetypes = { "The Hero", "The Ruler", "The Everyman" },
        services = {
            svc("Roof repair", "Leaks, missing shingles and storm damage repaired quickly."),
            svc("Roof replacement", "Complete tear-off and new roof, with the site cleaned every day."),
            svc("Inspections", "A clear report with photos of your roof's condition."),
            svc("Storm damage", "Help after hail and wind, including documentation for your insurer."),
            svc("Gutters", "Gutter cleaning, repair and replacement."),
            svc("Flashing and vents", "Chimneys, skylights and vents sealed against leaks."),
        },
        process = {
            step("Free inspection", "We look at the roof and show you photos of what we find."),
            step("Clear quote", "A written quote that explains materials and timing."),
            step("The work", "A careful crew, with your property protected."),
            step("Final walk-through", "We check every detail with you and haul away the debris."),
        },
        faq = {
            qa("How do I know if my roof needs replacing?", "Age, curling or missing shingles and recurring leaks are the usual signs; an inspection tells you for sure."),
            qa("Do you help with insurance claims?", "We document the damage with photos and notes your insurer can use."),
            qa("How long does a new roof take?", "Most homes in {city} take one to three days, depending on size and weather."),
            qa("Will you clean up?", "Yes, every day, including a magnetic sweep for nails."),
        },
        palettes = {
            { primary = "#9a3412", secondary = "#374151", accent = "#d97706", background = "#fffaf5", surface = "#f6ece3", text = "#1f1a17" },
            { primary = "#334155", secondary = "#b91c1c", accent = "#f59e0b", background = "#ffffff", surface = "#eff2f6", text = "#0f172a" },
        },
        fonts = { { "slab", "sans" }, { "geometric", "sans" } },
        radius = 4,
        themes = { "strong slate blocks under a warm sunset arc", "terracotta tiles laid on a steady grid" },
        angles = { "A roof over {city} families you never have to think about", "Straight answers and solid roofs" },
    },
    {
        key = "dentist", trade = "dental practice", short = "dental",
        match = { "dent", "orthodont", "endodont", "oral" },
        archetypes = { "The Caregiver", "The Sage", "The Innocent" },
        services = {
            svc("Check-ups and cleanings", "Gentle exams and cleanings that keep small problems small."),
            svc("Fillings", "Tooth-coloured fillings that look natural."),
            svc("Crowns and bridges", "Restorations that bring back strength and a natural smile."),
            svc("Teeth whitening", "Professional whitening with results you can see."),
            svc("Children's dentistry", "Patient, friendly care that helps children feel at ease."),
            svc("Emergency appointments", "Prompt help for toothache, chips and breaks."),
        },
        process = {
            step("Book a visit", "Call to find a time that suits you."),
            step("Talk it through", "We listen first and explain what we see."),
            step("Gentle treatment", "Care at your pace, with comfort in mind."),
            step("Follow-up", "A clear plan for keeping your smile healthy."),
        },
        faq = {
            qa("Are you taking new patients in {city}?", "Call us and we will find you a time."),
            qa("I am nervous about the dentist. Can you help?", "Yes. Tell us, and we will go slowly and explain every step."),
            qa("Do you see children?", "Yes, families are welcome."),
            qa("What if I have a toothache?", "Call us as soon as you can; we keep time for urgent visits."),
        },
        palettes = {
            { primary = "#0f766e", secondary = "#0284c7", accent = "#f472b6", background = "#ffffff", surface = "#effaf8", text = "#0f2a2a" },
            { primary = "#2563eb", secondary = "#14b8a6", accent = "#fbbf24", background = "#fcfeff", surface = "#eef6fd", text = "#102033" },
        },
        fonts = { { "humanist", "sans" }, { "rounded", "sans" } },
        radius = 14,
        themes = { "soft mint and white with gentle circles", "calm clinic blues in soft bubbles" },
        angles = { "Gentle dental care in {city} that people actually look forward to", "Smiles looked after by people who listen" },
    },
    {
        key = "hair_salon", trade = "salon", short = "salon",
        match = { "hair", "salon", "barber", "beauty", "nail", "spa", "stylist", "lash", "brow" },
        archetypes = { "The Creator", "The Lover", "The Jester" },
        services = {
            svc("Cuts and styling", "Cuts that suit your face, your hair and your mornings."),
            svc("Colour", "Single process, balayage, highlights and colour correction."),
            svc("Blowouts", "A smooth, lasting blowout for any occasion."),
            svc("Treatments", "Conditioning and repair treatments for healthy hair."),
            svc("Special occasions", "Styling for weddings, proms and events."),
            svc("Men's cuts", "Clean, sharp cuts and beard tidy-ups."),
        },
        process = {
            step("Book", "Call or drop in to find a time."),
            step("Consultation", "We talk through what you want and what will suit you."),
            step("Your appointment", "Relax while we work."),
            step("Aftercare", "Tips to keep the look at home."),
        },
        faq = {
            qa("Do you take walk-ins?", "When a chair is free, yes; calling ahead is the surest way."),
            qa("How long does colour take?", "Usually two to three hours, depending on the service."),
            qa("Can you fix colour done elsewhere?", "Yes. Book a consultation and we will plan it with you."),
            qa("Where are you in {city}?", "See our address below; we look forward to meeting you."),
        },
        palettes = {
            { primary = "#9d174d", secondary = "#6b21a8", accent = "#d4a373", background = "#fffafc", surface = "#fbeef3", text = "#2a1020" },
            { primary = "#44403c", secondary = "#be185d", accent = "#c8a165", background = "#fdfbf8", surface = "#f4eee8", text = "#1c1917" },
        },
        fonts = { { "didone", "sans" }, { "serif", "humanist" } },
        radius = 18,
        themes = { "blush and plum with flowing curves", "warm neutrals with gold arcs" },
        angles = { "The chair in {city} people leave smiling from", "Hair done with care, the way you asked for it" },
    },
    {
        key = "auto_repair", trade = "auto repair shop", short = "auto repair",
        match = { "auto", "mechanic", "car repair", "tire", "tyre", "brake", "transmission", "body shop",
                  "collision", "oil change", "muffler" },
        archetypes = { "The Everyman", "The Hero", "The Sage" },
        services = {
            svc("Diagnostics", "Check-engine lights and strange noises traced to the cause."),
            svc("Brakes", "Pads, rotors and brake fluid, checked and replaced."),
            svc("Oil and maintenance", "Oil changes and scheduled service that keep your warranty valid."),
            svc("Engine repair", "From sensors to major repairs, explained before we start."),
            svc("Tires and alignment", "Tires fitted, balanced and aligned."),
            svc("AC and heating", "Car air conditioning recharged and repaired."),
            svc("Pre-purchase inspections", "An honest look at a used car before you buy it."),
        },
        process = {
            step("Bring it in", "Call ahead or drop the car off."),
            step("Diagnosis", "We find the problem and call you with a clear price."),
            step("Repair", "Only the work you approve."),
            step("Pick up", "We show you what we did and what can wait."),
        },
        faq = {
            qa("Will you call before doing extra work?", "Always. Nothing is done without your approval."),
            qa("Do you work on all makes?", "Most domestic and imported cars; call us to check yours."),
            qa("How long will the repair take?", "We give you an honest estimate when we diagnose the car."),
            qa("Can I wait while you work in {city}?", "For short jobs, yes; call ahead and we will plan for it."),
        },
        palettes = {
            { primary = "#b91c1c", secondary = "#1f2937", accent = "#f59e0b", background = "#ffffff", surface = "#f3f4f6", text = "#111111" },
            { primary = "#1d4ed8", secondary = "#374151", accent = "#ef4444", background = "#fafafa", surface = "#eceef1", text = "#101418" },
        },
        fonts = { { "slab", "sans" }, { "geometric", "sans" } },
        radius = 4,
        themes = { "workshop steel with bold red blocks", "clean garage greys on a technical grid" },
        angles = { "Honest car repair in {city}, explained in plain words", "The shop that calls before it fixes" },
    },
    {
        key = "landscaper", trade = "landscaper", short = "landscaping",
        match = { "landscap", "lawn", "garden", "tree service", "tree care", "yard", "irrigation", "sod" },
        archetypes = { "The Creator", "The Explorer", "The Caregiver" },
        services = {
            svc("Lawn care", "Mowing, edging and seasonal feeding for a healthy lawn."),
            svc("Garden design", "Beds and borders planned for your yard and the local climate."),
            svc("Planting", "Trees, shrubs and perennials chosen and planted to thrive."),
            svc("Hardscaping", "Paths, patios and retaining walls built to last."),
            svc("Irrigation", "Sprinklers and drip systems installed and tuned."),
            svc("Seasonal clean-ups", "Leaves, pruning and mulch in spring and fall."),
        },
        process = {
            step("Walk the yard", "We visit and listen to what you want from your outdoor space."),
            step("Plan and quote", "A clear plan and price."),
            step("Build and plant", "The work done with care for what is already growing."),
            step("Keep it thriving", "Maintenance visits if you want them."),
        },
        faq = {
            qa("Do you offer regular maintenance?", "Yes: weekly, fortnightly or seasonal visits."),
            qa("Which plants do well in {city}?", "We choose plants suited to the local soil and climate."),
            qa("Do you remove the green waste?", "Yes, we take it away."),
            qa("Can you work with my budget?", "Tell us your budget and we will plan around it."),
        },
        palettes = {
            { primary = "#15803d", secondary = "#65a30d", accent = "#ca8a04", background = "#fbfdf8", surface = "#eef6e7", text = "#142214" },
            { primary = "#3f6212", secondary = "#0f766e", accent = "#eab308", background = "#fffef9", surface = "#f1f5e6", text = "#1a2410" },
        },
        fonts = { { "serif", "humanist" }, { "humanist", "sans" } },
        radius = 12,
        themes = { "leafy greens with rolling waves of lawn", "earthy greens under a sunny arc" },
        angles = { "Yards in {city} that make the whole street look twice", "Outdoor spaces looked after like our own" },
    },
    {
        key = "cleaning", trade = "cleaning service", short = "cleaning",
        match = { "clean", "maid", "janitor", "housekeep", "carpet", "pressure wash", "window wash" },
        archetypes = { "The Innocent", "The Caregiver", "The Everyman" },
        services = {
            svc("Regular house cleaning", "Weekly or fortnightly cleaning so you come home to a fresh house."),
            svc("Deep cleaning", "Top-to-bottom cleaning of kitchens, bathrooms and every corner."),
            svc("Move-in and move-out", "A spotless handover for tenants, owners and landlords."),
            svc("Office cleaning", "Clean, healthy workplaces, outside business hours if you prefer."),
            svc("Carpet and upholstery", "Stains and odours lifted from carpets and furniture."),
            svc("Windows", "Streak-free windows inside and out."),
        },
        process = {
            step("Tell us about your space", "Rooms, pets and priorities."),
            step("Get a clear price", "No surprises."),
            step("We clean", "Trusted cleaners with their own supplies."),
            step("Check it", "If anything is missed, tell us and we come back."),
        },
        faq = {
            qa("Do I need to be home?", "No. Many clients in {city} give us a key or a code."),
            qa("Do you bring supplies?", "Yes, everything needed, including eco-friendly options on request."),
            qa("Can I ask for the same cleaner?", "We do our best to send the same person each time."),
            qa("What if I am not happy?", "Tell us within a day and we will come back to put it right."),
        },
        palettes = {
            { primary = "#0891b2", secondary = "#7c3aed", accent = "#22c55e", background = "#ffffff", surface = "#ecfbfe", text = "#0c2530" },
            { primary = "#0d9488", secondary = "#2563eb", accent = "#facc15", background = "#fcfffe", surface = "#e9f8f5", text = "#0e2421" },
        },
        fonts = { { "rounded", "sans" }, { "geometric", "humanist" } },
        radius = 16,
        themes = { "fresh aqua with floating bubbles", "bright clean whites with soft circles" },
        angles = { "Come home to a spotless place in {city}", "Clean homes, trusted people" },
    },
    {
        key = "bakery", trade = "bakery", short = "bakery",
        match = { "bakery", "bake", "pastry", "patisserie", "cake", "donut", "doughnut", "cupcake", "panader" },
        archetypes = { "The Lover", "The Innocent", "The Creator" },
        services = {
            svc("Fresh bread", "Loaves baked every morning."),
            svc("Pastries", "Croissants, danishes and seasonal pastries."),
            svc("Custom cakes", "Birthday, wedding and celebration cakes made to order."),
            svc("Cookies and treats", "Cookies, bars and small treats for any day."),
            svc("Catering and trays", "Trays for offices, parties and events."),
            svc("Coffee", "Coffee to go with everything on the counter."),
        },
        process = {
            step("Choose", "Visit the counter or call about a custom order."),
            step("Talk it through", "For cakes, we plan flavours and design with you."),
            step("We bake", "Everything made fresh."),
            step("Pick up", "Ready when we said it would be."),
        },
        faq = {
            qa("How far ahead should I order a cake?", "A few days for most cakes, longer for weddings."),
            qa("Do you have options for allergies?", "Ask us; we will tell you exactly what is in each item."),
            qa("Do you cater events in {city}?", "Yes, call us about trays and quantities."),
            qa("When is the bread out of the oven?", "Early every morning; come early for the best choice."),
        },
        palettes = {
            { primary = "#92400e", secondary = "#be123c", accent = "#f9a8d4", background = "#fffbf5", surface = "#fbefe0", text = "#2b1a0e" },
            { primary = "#7c2d12", secondary = "#a16207", accent = "#fcd34d", background = "#fffdf8", surface = "#f7ecdc", text = "#271a10" },
        },
        fonts = { { "serif", "humanist" }, { "didone", "serif" } },
        radius = 14,
        themes = { "warm crust browns with round, soft circles", "pastel icing curves and arcs" },
        angles = { "The smell of fresh bread on a {city} morning", "Baked fresh, every day, by hand" },
    },
    {
        key = "restaurant", trade = "restaurant", short = "restaurant",
        match = { "restaurant", "cafe", "café", "coffee", "diner", "grill", "taco", "taqueria", "pizza", "bbq",
                  "barbecue", "kitchen", "bistro", "food", "eatery", "deli", "burger", "sushi", "pupus" },
        archetypes = { "The Lover", "The Everyman", "The Jester" },
        services = {
            svc("Dine in", "A table, good food and people who remember you."),
            svc("Takeout", "Call ahead and pick it up hot."),
            svc("Catering", "Food for parties, offices and family gatherings."),
            svc("House specials", "The dishes our regulars keep coming back for."),
            svc("Breakfast and lunch", "Fresh plates through the day."),
            svc("Private events", "Ask about hosting your celebration."),
        },
        process = {
            step("Call or walk in", "Reserve or just come by."),
            step("Order", "Ask about the specials."),
            step("Enjoy", "Made to order, served with care."),
            step("Come back", "Regulars are always welcome."),
        },
        faq = {
            qa("Do you take reservations?", "Call us; for larger groups please call ahead."),
            qa("Do you offer takeout?", "Yes, call your order in."),
            qa("Do you cater in {city}?", "Yes, ask us about menus and quantities."),
            qa("Do you have vegetarian options?", "Yes, ask us about today's choices."),
        },
        palettes = {
            { primary = "#b91c1c", secondary = "#15803d", accent = "#f59e0b", background = "#fffcf7", surface = "#f8efe4", text = "#24160f" },
            { primary = "#7f1d1d", secondary = "#854d0e", accent = "#fbbf24", background = "#fdfaf5", surface = "#f3eadf", text = "#1f1410" },
        },
        fonts = { { "slab", "humanist" }, { "serif", "sans" } },
        radius = 10,
        themes = { "warm kitchen reds with round plates of colour", "rustic wood tones on a checkered grid" },
        angles = { "The table in {city} regulars keep coming back to", "Good food, made by people who care" },
    },
    {
        key = "painter", trade = "painting contractor", short = "painting",
        match = { "paint", "drywall" },
        archetypes = { "The Creator", "The Everyman", "The Magician" },
        services = {
            svc("Interior painting", "Walls, ceilings and trim with sharp, clean lines."),
            svc("Exterior painting", "Siding, trim and doors prepared and painted to last."),
            svc("Cabinet refinishing", "Kitchen cabinets refreshed without replacing them."),
            svc("Drywall repair", "Holes and cracks patched invisibly."),
            svc("Colour advice", "Help choosing colours that work in your light."),
            svc("Decks and fences", "Staining and sealing that protects the wood."),
        },
        process = {
            step("Estimate", "We visit, measure and give you a written price."),
            step("Prepare", "Furniture covered, surfaces repaired and primed."),
            step("Paint", "Clean lines and even coats."),
            step("Final check", "We walk through with you and touch up anything."),
        },
        faq = {
            qa("Do you move furniture?", "Yes, we move and cover it, and put it back."),
            qa("How long does a room take?", "Most rooms take a day or two including preparation."),
            qa("Which paint do you use?", "Quality paints suited to the surface; ask us about options."),
            qa("Do you work across {city}?", "Yes, call us to check your area."),
        },
        palettes = {
            { primary = "#7c3aed", secondary = "#0ea5e9", accent = "#f43f5e", background = "#ffffff", surface = "#f5f2fe", text = "#1e1433" },
        },
        fonts = { { "geometric", "sans" }, { "serif", "sans" } },
        radius = 10,
        themes = { "bold swatches of colour in overlapping blocks", "fresh paint strokes in sweeping arcs" },
        angles = { "Fresh colour and clean lines for {city} homes", "Painting done neatly, on time" },
    },
    {
        key = "pest_control", trade = "pest control company", short = "pest control",
        match = { "pest", "extermin", "termite", "rodent" },
        archetypes = { "The Hero", "The Sage", "The Ruler" },
        services = {
            svc("Insect control", "Ants, roaches, spiders and more, treated at the source."),
            svc("Rodent control", "Mice and rats removed and entry points sealed."),
            svc("Termite inspections", "Inspections and treatment to protect your home."),
            svc("Bed bugs", "Thorough treatment and follow-up."),
            svc("Prevention plans", "Regular visits that keep pests out."),
            svc("Wildlife exclusion", "Humane removal and sealing of entry points."),
        },
        process = {
            step("Inspect", "We find where pests come from."),
            step("Plan", "A clear treatment plan and price."),
            step("Treat", "Safe, targeted treatment."),
            step("Follow up", "We check the results."),
        },
        faq = {
            qa("Are treatments safe for pets?", "We explain precautions and choose treatments with pets in mind."),
            qa("How soon can you come in {city}?", "Call us; we schedule as soon as we can."),
            qa("Will the pests come back?", "We seal entry points and can set up prevention visits."),
            qa("Do I need to leave the house?", "For most treatments, no; we tell you beforehand if you do."),
        },
        palettes = {
            { primary = "#166534", secondary = "#854d0e", accent = "#facc15", background = "#ffffff", surface = "#eff6f0", text = "#0f1f14" },
        },
        fonts = { { "geometric", "sans" } },
        radius = 8,
        themes = { "protective greens in solid blocks", "clean shield shapes on a grid" },
        angles = { "A pest-free home in {city}, without the worry", "Pests handled quickly and safely" },
    },
}

K.generic = {
    key = "generic", trade = "local business", short = "service",
    match = {},
    archetypes = { "The Everyman", "The Caregiver", "The Sage" },
    services = {
        svc("Consultations", "A conversation about what you need, with honest advice."),
        svc("Our core service", "The work our customers keep coming back for, done properly."),
        svc("Custom requests", "Tell us what you need and we will tell you what we can do."),
        svc("Follow-up care", "We stay in touch after the job is done."),
    },
    process = {
        step("Get in touch", "Call or visit."),
        step("Talk it through", "We listen and explain the options."),
        step("We do the work", "Carefully and on time."),
        step("Follow up", "We make sure you are happy."),
    },
    faq = {
        qa("Where are you in {city}?", "See our address below."),
        qa("How do I book?", "Call us and we will find a time."),
        qa("Do you give estimates?", "Yes, before any work begins."),
    },
    palettes = {
        { primary = "#334155", secondary = "#0f766e", accent = "#f59e0b", background = "#ffffff", surface = "#f3f5f8", text = "#0f172a" },
        { primary = "#4338ca", secondary = "#0e7490", accent = "#f97316", background = "#fdfdff", surface = "#f0f1fb", text = "#13132b" },
    },
    fonts = { { "sans", "sans" }, { "serif", "sans" } },
    radius = 10,
    themes = { "calm neutrals with soft circles", "steady blocks of colour on a clean grid" },
    angles = { "A {city} business people recommend to their friends", "Local, trusted and easy to reach" },
}

return K
