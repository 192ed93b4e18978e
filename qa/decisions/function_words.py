"""English words that carry no topic: pronouns, auxiliaries, question words,
fillers, the everyday verbs of a question ("can I get...", "what happens"),
and everyday words that say how a patient asks rather than what about
("how *long*", "will they *keep* me", "is that *normal*", "the *clinic*"),
the shorthand of phone messages ("wat", "kinda", "lol", "atm"), where the
patient heard something ("apparently", "my friend *mentioned*") and how they
feel about it ("*nervous*", "*terrified*"): a patient on a phone writes all
of these around a question the document answers.

Used to tell whether a question leans on a *topic* the document never
mentions ("insurance", "parking") rather than on ordinary phrasing. A plain
data module; it decides nothing itself.
"""

FUNCTION_WORDS = frozenset(
    """
    a about above after again against all almost also although always am among an and another any anybody anyone
    anything anyway anywhere are aren't around as at away back be became because become been before being below
    best better between both but by can can't cannot could couldn't did didn't do does doesn't doing don't done
    down during each either else enough etc even ever every everybody everyone everything everywhere few for from
    further get gets getting go goes going gone gonna got gotta had hadn't has hasn't have haven't having he her
    here hers herself him himself his how however i i'd i'll i'm i've id if im in instead into is isn't it it's
    its itself ive just kind least less let lets like likely lot lots made make makes making many may maybe me
    might mine more most much must my myself need needed needs never next no nobody none nor not nothing now
    of off often ok okay on once one only onto or other others otherwise our ours ourselves out over own per
    perhaps please pretty probably put puts quite rather re really right said same say says see seem seems
    shall she should shouldn't since so some somebody someone something sometimes somewhat soon still such sure
    take takes taking tell than that that's the their theirs them themselves then there there's these they
    they're thing things think this those though through thus till to too toward towards try trying under
    until up upon us use used very via want wants was wasn't way we we're well went were weren't what what's
    whatever when whenever where whether which while who who's whoever whole whom whose why will with within
    without won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves
    happen happens happened happening come comes coming came know knew let's mean means look looks looking
    feel feels thing stuff bit little big lot day days time times week weeks hour hours minute minutes
    cant dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt
    youre theyre thats whats theres hes shes
    hi hello hey hiya thanks thank cheers
    today tonight tomorrow yesterday morning afternoon evening night ago hr hrs min mins sec secs
    monday tuesday wednesday thursday friday saturday sunday
    long longer short shorter quick quickly fast slow slowly early earlier late later usual usually normal
    normally generally typically supposed expected exact exactly actual proper properly real different similar
    fine alright good great nice sure certain whole old
    keep keeps kept give gives given gave send sends sent pick picks check checks checked start starts started
    finish finishes finished leave leaves stay stays wait waits waiting hang run runs ring call calls find
    found show shows ask asks asked explain explains bring brings matter matters wonder wondering worry
    worried worries meant
    problem problems issue issues question questions answer answers moment moments while ages
    type types u ur r pls plz cos coz tho
    wat wot wut wats kinda sorta gonna wanna gotta dunno lemme gimme ya yah yep yup nah nope
    lol lmao omg tbh imo imho idk btw fyi atm rn asap thx ty tks np ok k kk bc cuz smth sth abt b4 w
    hmm um umm uh er erm ah oh ooh wow
    actually basically literally honestly seriously definitely totally apparently obviously anyway anyways
    already again also yet just still
    heard hear hears mention mentions mentioned told tell tells call called calls reckon reckons reckoned
    guess guessing suppose supposed assume figure figured read reading saw seen
    google googled googling facebook youtube tiktok instagram reddit forum forums internet
    nervous anxious scared frightened afraid terrified petrified panicking panicky stressed stressing
    upset confused dreading dread freaking freaked
    first timer newbie
    clinic clinics hospital
    """.split()
)

#: The grammar of a question, left out of BM25 on both sides: pronouns,
#: auxiliaries and modals, determiners and the question words that never name
#: what is asked ("what", "how", "why"). Matching them rewards passages for
#: sounding like a question ("What conditions *can* a hip injection treat?")
#: rather than for their topic. Kept out on purpose: "who", "when", "where"
#: (they match the document's "Who Performs...", "When to Seek...") and
#: prepositions with meaning ("after", "before", "during", "down").
#: Forms before an apostrophe ("don" of "don't") are listed because the
#: tokeniser cuts words there.
GRAMMAR_WORDS = frozenset(
    """
    i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves one
    am is are was were be been being do does did doing done have has had having
    can could will would shall should may might must
    don doesn didn isn aren wasn weren won wouldn shouldn couldn hasn haven hadn ll ve re
    a an the this that these those some any each every such
    what which why how whether whatever
    just really actually please ok okay so very
    """.split()
)
