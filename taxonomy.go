package bluehelm

// TaxonomyVersion names the version of the category list below. Codes are stable:
// a later version may add codes or deprecate them, never reuse one with a new meaning.
// Labels are English defaults; the web app translates by code.
const TaxonomyVersion = "2026.1"

// Category is the top level of the incident taxonomy.
type Category string

const (
	CatArmedClash    Category = "armed_clash"
	CatAttackOnUN    Category = "attack_on_un"
	CatExplosive     Category = "explosive"
	CatViolenceCivs  Category = "violence_against_civilians"
	CatKidnapping    Category = "kidnapping"
	CatRobbery       Category = "armed_robbery"
	CatProtest       Category = "protest"
	CatMovement      Category = "armed_movement"
	CatThreat        Category = "threat"
	CatArrest        Category = "arrest"
	CatDisplacement  Category = "displacement"
	CatHumanitarian  Category = "humanitarian_access"
	CatDrone         Category = "drone"
	CatAccident      Category = "accident"
	CatNaturalHazard Category = "natural_hazard"
	CatOther         Category = "other"
)

// CategoryInfo describes one category and its subcategories.
type CategoryInfo struct {
	Code          Category          `json:"code"`
	Label         string            `json:"label"`
	Subcategories map[string]string `json:"subcategories"`
}

// Taxonomy is the incident taxonomy, in display order.
var Taxonomy = []CategoryInfo{
	{CatArmedClash, "Armed clash", map[string]string{
		"armed_clash": "Armed clash between groups", "government_regains": "Government regains territory",
		"non_state_takes": "Non-state actor takes territory", "exchange_of_fire": "Exchange of fire", "ceasefire_violation": "Ceasefire violation"}},
	{CatAttackOnUN, "Attack on UN personnel or premises", map[string]string{
		"direct_fire": "Direct fire on UN personnel", "attack_on_camp": "Attack on UN camp or premises",
		"ambush": "Ambush of UN convoy or patrol", "obstruction": "Obstruction or threat against UN"}},
	{CatExplosive, "IED, explosive or indirect fire", map[string]string{
		"ied": "Improvised explosive device", "ied_found": "IED found or cleared", "landmine": "Landmine or ERW",
		"indirect_fire": "Shelling, mortar or rocket", "air_strike": "Air or drone strike", "suicide_bomb": "Suicide bomb", "grenade": "Grenade"}},
	{CatViolenceCivs, "Violence against civilians", map[string]string{
		"killing": "Killing", "attack": "Physical attack", "abduction": "Abduction or forced disappearance",
		"sexual_violence": "Sexual violence", "looting": "Looting or property destruction"}},
	{CatKidnapping, "Kidnapping", map[string]string{"kidnapping": "Kidnapping for ransom", "hostage": "Hostage taking"}},
	{CatRobbery, "Armed robbery, hijacking or carjacking", map[string]string{
		"armed_robbery": "Armed robbery", "hijacking": "Hijacking", "carjacking": "Carjacking", "cattle_raid": "Cattle raid"}},
	{CatProtest, "Protest, demonstration or riot", map[string]string{
		"peaceful_protest": "Peaceful protest", "protest_with_intervention": "Protest with intervention",
		"excessive_force": "Excessive force against protesters", "violent_demonstration": "Violent demonstration", "mob_violence": "Mob violence"}},
	{CatMovement, "Armed group or troop movement", map[string]string{
		"troop_movement": "Troop movement", "armed_group_movement": "Armed group movement", "headquarters_established": "Base or headquarters established",
		"recruitment": "Recruitment", "agreement": "Agreement", "transfer_of_territory": "Non-violent transfer of territory"}},
	{CatThreat, "Threat, rising tension or hate speech", map[string]string{
		"threat": "Threat", "rising_tension": "Rising tension", "hate_speech": "Hate speech or incitement", "disinformation": "Disinformation"}},
	{CatArrest, "Arrest or detention", map[string]string{"arrest": "Arrest", "detention": "Detention", "release": "Release"}},
	{CatDisplacement, "Displacement", map[string]string{"displacement": "Displacement", "return": "Return of displaced people"}},
	{CatHumanitarian, "Humanitarian access incident", map[string]string{
		"access_denied": "Access denied", "aid_worker_attacked": "Aid worker attacked", "aid_looted": "Aid looted or diverted"}},
	{CatDrone, "Drone sighting or attack", map[string]string{"sighting": "Drone sighting", "attack": "Drone attack"}},
	{CatAccident, "Accident", map[string]string{"road": "Road accident", "air": "Air accident", "fire": "Fire", "other": "Other accident"}},
	{CatNaturalHazard, "Natural hazard", map[string]string{"flood": "Flood", "drought": "Drought", "disease": "Disease outbreak", "other": "Other hazard"}},
	{CatOther, "Other", map[string]string{"other": "Other"}},
}

var taxonomyIndex = func() map[Category]*CategoryInfo {
	m := make(map[Category]*CategoryInfo, len(Taxonomy))
	for i := range Taxonomy {
		m[Taxonomy[i].Code] = &Taxonomy[i]
	}
	return m
}()

// Valid reports whether c is a category of the current taxonomy.
func (c Category) Valid() bool { _, ok := taxonomyIndex[c]; return ok }

// ValidSubcategory reports whether sub is a subcategory of c. An empty sub is valid.
func (c Category) ValidSubcategory(sub string) bool {
	if sub == "" {
		return true
	}
	info, ok := taxonomyIndex[c]
	if !ok {
		return false
	}
	_, ok = info.Subcategories[sub]
	return ok
}
