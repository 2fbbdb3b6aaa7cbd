//! Given-name nicknames (Bill / William, Liz / Elizabeth, Hans / Johann,
//! …), grouped so that two names in one group count as the same given
//! name written differently.

/// Nickname groups: a short form and the full names it stands for. Two
/// given names in one group are a nickname match. At most 64 groups (they
/// are kept as a bit set per name).
const NICKNAMES: &[&[&str]] = &[
    &[
        "william", "bill", "billy", "will", "willy", "willi", "liam", "wilhelm",
    ],
    &["robert", "bob", "bobby", "rob", "robbie", "bert"],
    &[
        "elizabeth",
        "liz",
        "lizzie",
        "beth",
        "betty",
        "betsy",
        "eliza",
        "elisabeth",
        "lisa",
        "liza",
        "elise",
    ],
    &["richard", "rick", "ricky", "dick", "rich", "richie"],
    &["james", "jim", "jimmy", "jamie"],
    &[
        "john", "jack", "johnny", "jon", "johann", "johannes", "hans",
    ],
    &[
        "margaret",
        "maggie",
        "meg",
        "peggy",
        "marge",
        "greta",
        "margarete",
        "gretchen",
    ],
    &[
        "katherine",
        "catherine",
        "kate",
        "katie",
        "cathy",
        "kathy",
        "kat",
        "katharina",
        "katja",
        "kathrin",
    ],
    &["michael", "mike", "mick", "mickey", "micha"],
    &["thomas", "tom", "tommy", "thom"],
    &[
        "joseph", "joe", "joey", "josef", "sepp", "giuseppe", "beppe", "jose", "pepe",
    ],
    &["charles", "charlie", "chuck", "karl", "carl"],
    &["edward", "ed", "eddie", "ted", "ned"],
    &["anthony", "tony", "antonio", "toni", "anton"],
    &["daniel", "dan", "danny"],
    &["david", "dave", "davey"],
    &[
        "alexander",
        "alex",
        "sasha",
        "alejandro",
        "alessandro",
        "sandro",
        "xander",
    ],
    &["alexandra", "alex", "sasha", "sandra", "alessandra"],
    &["christopher", "chris", "kit", "christoph"],
    &["christine", "chris", "christina", "tina", "kristina"],
    &["jennifer", "jen", "jenny"],
    &["patricia", "pat", "patty", "trish", "tricia"],
    &["patrick", "pat", "paddy"],
    &["susan", "sue", "susie", "suzanne", "susanne"],
    &[
        "nicholas", "nick", "nicky", "nico", "nikolaus", "niklas", "klaus",
    ],
    &["matthew", "matt", "matthias", "mathias"],
    &["andrew", "andy", "drew", "andreas", "andrea"],
    &["benjamin", "ben", "benny"],
    &["samuel", "sam", "sammy"],
    &["samantha", "sam", "sammy"],
    &["stephen", "steven", "steve", "stefan", "stephan"],
    &["friedrich", "fritz", "fred", "frederick", "freddy"],
    &[
        "francesco",
        "franco",
        "francis",
        "frank",
        "franz",
        "francisco",
        "paco",
        "pancho",
    ],
    &["manuel", "manolo", "manu"],
    &["dolores", "lola"],
    &["ignacio", "nacho"],
    &["guillermo", "memo"],
    &["jacob", "jake", "jakob"],
    &["joshua", "josh"],
    &["timothy", "tim", "timmy"],
    &["gregory", "greg"],
    &["jonathan", "jon", "jonny"],
    &["deborah", "debbie", "deb"],
    &["rebecca", "becky", "becca"],
    &["victoria", "vicky", "tori"],
    &["barbara", "barb", "babs"],
    &["dorothy", "dot", "dottie", "dora"],
    &["helen", "helena", "nell", "ellie", "lena"],
    &["eleanor", "ellie", "nora", "ella"],
    &["maria", "mary", "marie", "mia", "mimi"],
    &["anna", "anne", "ann", "annie", "hanna", "hannah"],
    &["peter", "pete", "pietro", "pedro"],
    &[
        "henry", "harry", "hank", "heinrich", "heinz", "enrico", "henri",
    ],
    &["lawrence", "larry", "lorenzo", "lorenz"],
    &["gerald", "gerry", "jerry", "gerhard"],
    &["ronald", "ron", "ronnie"],
    &["donald", "don", "donnie"],
    &["kenneth", "ken", "kenny"],
    &["raymond", "ray"],
    &["wolfgang", "wolf"],
    &[
        "juergen", "jurgen", "jorg", "joerg", "georg", "george", "jorge", "giorgio",
    ],
    &["ulrich", "uli", "ulli"],
    &["bernhard", "bernd", "bernard", "bernie"],
    &["cornelia", "conny", "nelly"],
];

/// Bit set of the nickname groups containing `name`.
pub fn nickname_groups(name: &str) -> u64 {
    let mut set = 0u64;
    for (i, group) in NICKNAMES.iter().enumerate().take(64) {
        if group.contains(&name) {
            set |= 1 << i;
        }
    }
    set
}

/// The names of the groups in `set` (for matching a nickname against a
/// misspelt full name: "Bob" / "Roberrt").
pub fn group_names(set: u64) -> impl Iterator<Item = &'static str> {
    NICKNAMES
        .iter()
        .enumerate()
        .take(64)
        .filter(move |(i, _)| set & (1 << i) != 0)
        .flat_map(|(_, g)| g.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_bit_set() {
        assert!(NICKNAMES.len() <= 64);
        assert_ne!(nickname_groups("bill") & nickname_groups("william"), 0);
    }
}
