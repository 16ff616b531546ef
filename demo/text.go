package demo

import (
	"math/rand/v2"
	"strings"
)

// The texts below are written to read like what residents actually send a
// municipality: concrete places, everyday reasons, uneven length. The
// generator fills the {slots} and appends extra sentences, so a few dozen
// templates give hundreds of distinct contributions.

// template is a title and body in one language; {park}, {place},
// {district}, {street} and {school} are filled in.
type template struct {
	lang, title, body string
}

// themes maps a theme to its submission templates.
var themes = map[string][]template{
	"trygghet": {
		{"sv", "Bättre belysning i {park}", "Jag går genom {park} varje kväll när jag kommer hem från jobbet och det är kolsvart mellan lamporna. Flera av grannarna i {district} väljer att gå en omväg längs {street} i stället. Sätt upp fler lampor längs gångvägen och byt de trasiga."},
		{"sv", "Trygghetsvandring i {district}", "Jag föreslår att kommunen ordnar en trygghetsvandring i {district} tillsammans med oss som bor här, polisen och fastighetsägarna. Vi vet var det känns otryggt, till exempel vid tunneln under {street}, men ingen har frågat oss."},
		{"sv", "Klipp ner buskagen i {park}", "Buskarna i {park} har växt sig så höga att man inte ser vem som står bakom dem. Särskilt barnen som går till {school} tycker att det är obehagligt på vintern när det är mörkt redan vid fyra."},
		{"sv", "Öppna fritidsgården i {district} på helgerna", "Ungdomarna i {district} har ingenstans att vara på fredags- och lördagskvällar. Fritidsgården stänger klockan 21 och är stängd på helgen. Längre öppettider skulle göra mer för tryggheten än fler kameror."},
		{"en", "More lighting on the path through {park}", "I cycle through {park} every evening and the stretch towards {street} is completely dark. Several of us in {district} have started taking the long way round. Please add lights along the path and fix the broken ones."},
		{"sv", "Nattvandrare behöver stöd", "Vi är en grupp föräldrar i {district} som nattvandrar varannan fredag. Vi skulle behöva ett rum att samlas i, reflexvästar och någon kontaktperson på kommunen. Det kostar lite men betyder mycket."},
	},
	"grönt": {
		{"sv", "Fler träd längs {street}", "{street} är en av de varmaste gatorna i {district} på sommaren. Plantera träd på båda sidor, gärna lindar som de som redan finns i {park}. Det ger skugga, tar hand om regnvatten och gör gatan trevligare."},
		{"sv", "Gör om gräsmattan i {park} till äng", "Gräsmattan i {park} klipps varannan vecka men används nästan aldrig. Låt en del av den bli blomsteräng. Det gynnar bin och fjärilar och sparar pengar på skötseln."},
		{"sv", "Stadsodling i {district}", "Det finns en tom grusyta bakom {place} som skulle passa för odlingslotter. Många i {district} bor i lägenhet utan balkong och skulle gärna odla. Föreningen kan ta hand om skötseln om kommunen ordnar vatten."},
		{"en", "A pocket park on {street}", "The empty corner lot on {street} in {district} has been fenced off for years. Turning it into a small park with benches and a few trees would give the neighbourhood somewhere to meet."},
		{"sv", "Fler parkbänkar i {park}", "För oss äldre är det långt mellan bänkarna i {park}. Jag orkar inte gå hela vägen runt dammen utan att vila. Några fler bänkar, gärna med armstöd, skulle göra parken tillgänglig för fler."},
		{"sv", "Rensa dammen i {park}", "Dammen i {park} luktar illa varje sommar och det växer alger. Kan den rensas och få bättre vattencirkulation? Barnen i {district} brukar mata änderna där."},
	},
	"cykel": {
		{"sv", "Separat cykelbana på {street}", "Längs {street} delar cyklister och fotgängare på en smal yta. På morgonen när barnen cyklar till {school} blir det trångt och farligt. Bygg en separat cykelbana, gärna med kantsten mot bilkörfältet."},
		{"sv", "Säkrare övergångsställe vid {school}", "Övergångsstället utanför {school} saknar farthinder och bilarna kör fort. Jag har själv sett två nära olyckor i år. Upphöj övergångsstället och sätt upp blinkande skyltar."},
		{"en", "Bike parking at {place}", "There is almost no bike parking at {place}, so bikes end up locked to every fence and lamp post. A covered bike stand with room for 50 bikes would solve this."},
		{"sv", "Skolgata vid {school}", "Stäng gatan utanför {school} för biltrafik mellan 7.45 och 8.15. Föräldrar som skjutsar skapar kaos och farliga situationer. Andra städer har provat skolgator med gott resultat."},
		{"sv", "Snöröj cykelbanorna först", "När det snöade i vintras var cykelbanan längs {street} oplogad i tre dagar medan bilvägen var klar samma morgon. Prioritera cykelbanorna i snöröjningen, vi är många i {district} som cyklar året runt."},
		{"en", "Fix the bike lane gap on {street}", "The bike lane on {street} stops suddenly for about 200 metres and you have to merge with buses. Closing that gap would make the route from {district} to the centre much safer."},
	},
	"klimat": {
		{"sv", "Källaren i {district} översvämmas vid varje skyfall", "Vid skyfallen de senaste somrarna har källaren i vårt hus på {street} stått under vatten. Dagvattenbrunnarna på gatan klarar inte mängderna. Vi behöver mer grönska som tar upp vattnet och större ledningar."},
		{"sv", "Gör {park} till ett skyfallsområde", "{park} ligger lägre än omgivningen och skulle kunna utformas så att den tar emot vatten vid skyfall, som man gjort i Augustenborg. Då skyddas husen runt omkring samtidigt som vi får en finare park."},
		{"en", "Green roofs on public buildings", "The city could lead by example and put green roofs on schools and libraries in {district}, starting with {school}. They hold rainwater, cool the building and are good for insects."},
		{"sv", "Information till fastighetsägare om backventiler", "Många i {district} vet inte att man kan installera backventil för att slippa vatten i källaren. Skicka ut information och ge gärna bidrag, det är billigare än att sanera efteråt."},
		{"sv", "Ta bort asfalten på skolgården", "Skolgården på {school} är nästan helt asfalterad. Byt ut en del mot gräs och planteringar. Barnen får en bättre miljö och regnet kan sjunka undan."},
	},
	"plan": {
		{"sv", "Bevara grönområdet vid {park}", "I samrådsförslaget föreslås bostäder på grönytan vid {park}. Det är den enda större parken i närheten för oss som bor i {district}. Bygg gärna, men på parkeringsytorna och inte på parken."},
		{"sv", "Fler hyresrätter med rimliga hyror", "Planen innehåller mest bostadsrätter. Malmö behöver hyresrätter som vanliga människor har råd med, särskilt för unga som vill flytta hemifrån. Ställ krav på upplåtelseformer i markanvisningarna."},
		{"sv", "Koppla ihop Hyllie med Holma", "Motorvägen skiljer Hyllie från Holma och Kroksbäck. En bred och trygg gång- och cykelbro skulle knyta ihop stadsdelarna och göra det lättare att nå {place} utan bil."},
		{"en", "Keep the building heights moderate", "The proposal allows buildings of up to 16 storeys next to {park}. That will shade the courtyards and the playground. Please keep new buildings to 6–8 storeys close to existing homes in {district}."},
		{"sv", "Plats för en ny skola", "Med tusentals nya bostäder behövs en ny grundskola. Planen säger inget om var den ska ligga. Reservera mark nu, innan allt är bebyggt, annars får barnen åka till {school} som redan är full."},
		{"sv", "Lokaler för föreningar i bottenvåningarna", "Ställ krav på att bottenvåningarna mot {street} ska ha lokaler för föreningar och småföretag, inte bara förråd och garage. Det gör gatan levande och tryggare på kvällen."},
	},
	"kultur": {
		{"sv", "Längre öppettider på biblioteket", "Biblioteket i {district} stänger klockan 17 på vardagar. Många unga behöver en lugn plats att plugga på efter skolan och på kvällen. Öppna till 20 åtminstone några dagar i veckan."},
		{"sv", "Läxhjälp och språkcafé", "Gör biblioteket till en mötesplats med läxhjälp på eftermiddagarna och språkcafé för vuxna på kvällarna. Det finns många i {district} som vill lära sig svenska och många som vill hjälpa till."},
		{"en", "A maker space in the library", "Young people in {district} would love a maker space with 3D printers, sewing machines and computers for music production. The library in {district} has an unused room on the first floor."},
		{"sv", "Böcker på fler språk", "I {district} talas över 50 språk men bibliotekets hyllor med arabiska, somaliska och persiska böcker är små. Köp in fler barnböcker på modersmål så att föräldrar kan läsa med sina barn."},
		{"sv", "Sommarscen i {park}", "Ordna en enkel utomhusscen i {park} med gratis konserter och teater på sommaren. Låt lokala föreningar och unga artister från {district} uppträda."},
	},
}

// extras are added to bodies for length and variety.
var extrasSv = []string{
	"Jag har bott här i över tjugo år och sett området förändras.",
	"Flera grannar håller med mig och har sagt att de också skriver in.",
	"Tack för att ni ordnar den här dialogen.",
	"Det här borde inte kosta särskilt mycket jämfört med nyttan.",
	"Jag bifogar gärna bilder om det behövs.",
	"Det gäller särskilt på vintern när det är mörkt.",
	"Mina barn är 7 och 10 år och jag vill att de ska kunna röra sig själva i området.",
	"Frågan har tagits upp på bostadsrättsföreningens stämma flera gånger.",
	"Hör gärna av er om ni vill veta mer.",
	"Jag hoppas att det här blir verklighet innan nästa sommar.",
}

var extrasEn = []string{
	"I have lived here for six years and love the neighbourhood.",
	"Many of my neighbours feel the same way.",
	"Thank you for asking residents for their views.",
	"This would not cost much compared with the benefit.",
	"Happy to share photos if that helps.",
}

// revisionNotes are what authors add when they revise a submission.
var revisionNotes = []string{
	"Tillägg: jag har pratat med fler grannar och vi är nu ett tjugotal som står bakom förslaget.",
	"Rättelse: i första versionen skrev jag fel gata, det gäller sträckan närmast skolan.",
	"Uppdatering: förslaget gäller även kvällstid på helgerna.",
	"Tillägg efter kommentarerna: det behöver inte kosta mycket, det räcker att börja med en del av sträckan.",
}

// comments are replies to submissions; some read as replies to comments.
var commentsSv = []string{
	"Håller helt med, det här har varit ett problem länge.",
	"Bra förslag! Jag skulle gärna se samma sak vid {place}.",
	"Jag håller med i sak men tror att det blir dyrt. Finns det pengar i budgeten?",
	"Som boende på {street} kan jag bekräfta att det är precis så här.",
	"Jag är tveksam. Är det verkligen det viktigaste just nu?",
	"Det här har diskuterats förut och då sa kommunen nej. Vad har ändrats sedan dess?",
	"Kanske kan man börja med ett försök under ett år och sedan utvärdera?",
	"Instämmer. Tänk också på dem som använder rullstol eller rollator.",
	"Vi pratade om det här på föreningsmötet i {district} och alla var positiva.",
	"Jag tycker att förslaget är bra men det behövs mer än så.",
	"Tack för att du skrev in det här, jag har tänkt samma sak länge.",
	"Det finns redan något liknande vid {place} och det fungerar bra.",
	"Glöm inte att fråga barnen och ungdomarna, de är de som berörs mest.",
	"Jag ser inte problemet. Jag går där varje dag och tycker det är bra som det är.",
}

var commentsEn = []string{
	"Fully agree, this has been a problem for years.",
	"Great idea. The same is needed at {place}.",
	"I agree in principle, but who is going to pay for it?",
	"Could this be tried for a year first and then evaluated?",
	"As someone living on {street} I can confirm this.",
	"Not convinced this is the top priority right now.",
}

var repliesSv = []string{
	"Svar till föregående: det stämmer, men förslaget handlar om något annat.",
	"Jag förstår din poäng, men många upplever det annorlunda.",
	"Precis, och det blir bara värre för varje år.",
	"Håller med dig, ett försök vore ett bra första steg.",
}

// badContent is content a moderator hides or labels, with the statement of
// reasons the decision gives. None of it is real abuse: it is written to be
// recognisably against the terms without repeating anything hurtful.
type badContent struct {
	lang       string
	title      string // submissions only
	body       string
	visibility string // "content_disabled", "content_labelled" or "content_demoted"
	ground     string // "incompatible_content" or "illegal_content"
	clause     string // policy clause, or the law for illegal content
	category   string
	reasons    string // facts and circumstances, published
	notice     string // what a notifying resident wrote
	why        string // why it is incompatible with the clause / illegal under the law (DSA ground explanation)
}

var badContents = []badContent{
	{"sv", "Byt ut handläggaren", "Handläggaren {official} på förvaltningen är helt inkompetent och borde sparkas. Alla vet att hen bara bryr sig om sina egna intressen.", "content_disabled", "incompatible_content", "4.1 Personangrepp", "other_violation_tc",
		"Inlägget innehåller nedsättande omdömen om en namngiven tjänsteperson i stället för synpunkter på sakfrågan. Riktlinjerna avsnitt 4.1 tillåter kritik av beslut men inte personangrepp.", "Det här är ett personangrepp på en anställd.",
		"Avsnitt 4.1 tillåter skarp kritik av beslut och verksamhet men inte omdömen om en enskild persons karaktär; inlägget angriper tjänstepersonen som person."},
	{"sv", "Grannen på {street}", "Mannen som bor på {street} 14, tredje våningen, heter Bengt och det är han som klottrar. Ring honom på 070-123 45 67 och säg till.", "content_disabled", "incompatible_content", "4.2 Personuppgifter om andra", "data_protection_and_privacy_violations",
		"Inlägget pekar ut en privatperson med namn, adress och telefonnummer och anklagar honom för brott. Riktlinjerna avsnitt 4.2 förbjuder personuppgifter om andra.", "Inlägget lämnar ut en persons adress och telefonnummer.",
		"Avsnitt 4.2 förbjuder uppgifter som identifierar privatpersoner som inte själva deltar i dialogen; här lämnas namn, adress och telefonnummer ut tillsammans med en brottsanklagelse."},
	{"sv", "Billiga solpaneler", "Vill du spara pengar? Köp solpaneler med 60 % rabatt hos oss, skriv till kampanj@example.com redan idag! Erbjudandet gäller bara denna vecka.", "content_disabled", "incompatible_content", "4.3 Reklam och spam", "scams_and_fraud",
		"Inlägget är kommersiell reklam utan koppling till dialogens fråga och uppvisar kännetecken på bedrägliga erbjudanden. Riktlinjerna avsnitt 4.3.", "Spam/reklam.",
		"Avsnitt 4.3 förbjuder kommersiell reklam och massutskick; inlägget säljer en produkt och hänvisar till en extern kontaktadress."},
	{"en", "Crypto investment", "Earn 500 euro a day from home with our crypto trading bot, no experience needed. Message me for the link.", "content_disabled", "incompatible_content", "4.3 Reklam och spam", "scams_and_fraud",
		"The post advertises an investment scheme unrelated to the consultation and shows typical signs of fraud. Guidelines section 4.3.", "Looks like a scam.",
		"Section 4.3 of the guidelines prohibits advertising and unsolicited offers; the post promotes a paid scheme and asks readers to make contact privately."},
	{"sv", "Skatten", "Varför ska vi ens ha kommunalskatt? Hela systemet är fel och politikerna borde avgå, allihop.", "content_demoted", "incompatible_content", "4.4 Dialogens ämne", "other_violation_tc",
		"Inlägget rör inte dialogens fråga. Det ligger kvar men visas längre ned i listan. Riktlinjerna avsnitt 4.4.", "Hör inte till ämnet.",
		"Avsnitt 4.4 säger att inlägg ska röra dialogens fråga; inlägget handlar om skattesystemet i allmänhet, inte om den fråga dialogen gäller."},
	{"sv", "Sanningen om mätningarna", "Mätningarna som kommunen redovisar är förfalskade, det vet alla. Lita inte på någonting som står i underlaget.", "content_labelled", "incompatible_content", "4.6 Påståenden utan underlag", "negative_effects_on_civic_discourse_or_elections",
		"Inlägget påstår att kommunens underlag är förfalskat utan att ange någon grund. Det får ligga kvar men märks med en hänvisning till underlaget. Riktlinjerna avsnitt 4.6.", "Sprider felaktig information om underlaget.",
		"Avsnitt 4.6 kräver att påståenden om fakta i underlaget har någon grund; inlägget anklagar kommunen för förfalskning utan att ange någon."},
	{"sv", "Ni kommer att ångra er", "Om ni bygger på vår park kommer jag att se till att ni ångrar er. Jag vet var ni som jobbar på kontoret bor.", "content_disabled", "illegal_content", "Brottsbalken 4 kap. 5 § (olaga hot)", "violence",
		"Inlägget innehåller ett hot riktat mot kommunens anställda som kan utgöra olaga hot enligt brottsbalken 4 kap. 5 §. Det har dolts och polisanmälts enligt rutin.", "Det här är ett hot mot personalen.",
		"Att hota någon med brottslig gärning på ett sätt som kan framkalla allvarlig fruktan är olaga hot (brottsbalken 4 kap. 5 §); inlägget antyder att författaren vet var de anställda bor."},
}

// flagsOnGoodContent are notices residents send about content that turns
// out to be within the terms.
var flagsOnGoodContent = []string{
	"Jag tycker att det här är stötande.",
	"Det här stämmer inte.",
	"Inlägget är osakligt.",
	"This is misleading.",
}

// surveyTexts are free-text survey answers.
var surveyTexts = []string{
	"Mer belysning och fler vuxna ute på kvällarna.",
	"Bussarna går för sällan på kvällen, särskilt linje 5.",
	"Jag trivs bra men hyrorna är för höga.",
	"Fler parker och mindre biltrafik i centrum.",
	"Satsa på skolan, det är där allt börjar.",
	"Bättre städning kring återvinningsstationerna.",
	"Malmö är en fantastisk stad, fortsätt så.",
	"Det behövs fler mötesplatser för äldre.",
	"More English information from the city would help newcomers.",
	"Cykelbanorna är bra men de tar slut mitt i ingenting.",
	"Jag vill kunna påverka mer än vart fjärde år.",
	"Trygghet! Jag går inte ut ensam efter tio.",
}

// Places and people.
var (
	districts = []string{"Centrum", "Södra Innerstaden", "Västra Innerstaden", "Limhamn-Bunkeflo", "Hyllie",
		"Fosie", "Oxie", "Rosengård", "Husie", "Kirseberg"}
	ageBands = []string{"16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"}
	parks    = []string{"Pildammsparken", "Slottsparken", "Kungsparken", "Folkets park", "Limhamnsfältet", "Beijers park",
		"Augustenborgsparken", "Kroksbäcksparken", "Enskifteshagen", "Sofielundsparken", "Annelundsparken", "Husie mosse"}
	places = []string{"Rosengårds centrum", "Möllevångstorget", "Värnhemstorget", "Hyllie station", "Oxie centrum",
		"Stadsbiblioteket", "Kirsebergs torg", "Triangeln", "Malmö C", "Ribersborgsstranden"}
	streets = []string{"Amiralsgatan", "Lundavägen", "Nobelvägen", "Ystadvägen", "Trelleborgsvägen", "Limhamnsvägen",
		"Bergsgatan", "Södra Förstadsgatan", "Eric Perssons väg", "Annebergsgatan", "Jägersrovägen",
		"Husievägen", "Kirsebergsgatan", "Hyllie boulevard", "Rönneholmsvägen"}
	schools = []string{"Rosengårdsskolan", "Sofielundsskolan", "Bunkeflo strandskola", "Hyllie park skola",
		"Kirsebergsskolan", "Oxievångsskolan", "Ängslättskolan", "Möllevångsskolan", "Husie skola"}
	firstNames = []string{"Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Anders", "Eva", "Mikael",
		"Fatima", "Ahmed", "Amina", "Mohammed", "Zeynep", "Mehmet", "Nikola", "Jelena", "Emir", "Leila",
		"Ida", "Oscar", "Elsa", "Hugo", "Maja", "Liam", "Alma", "Noah", "Agnes", "Ali", "Sofia", "Omar",
		"Hanna", "Ibrahim", "Astrid", "Yusuf", "Linnea", "Daniel", "Aisha", "Björn"}
	lastNames = []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
		"Persson", "Svensson", "Gustafsson", "Hassan", "Ali", "Mohammed", "Yilmaz", "Kovačević", "Jovanović",
		"Haddad", "Rahimi", "Lindberg", "Holm", "Ek", "Sjöberg", "Bengtsson", "Nordström", "Khalil", "Abdi",
		"Lund", "Petrović", "Mahmoud", "Åberg"}
	// pseudonymWords are nicknames without names in them (pseudonyms are public).
	pseudonymWords = []string{"Kastanj", "Måsen", "Öresund", "Bokträd", "Lindblom", "Vågbrytare", "Trana",
		"Ekorre", "Rapsfält", "Hamnkran", "Cykelpump", "Stadsräv", "Sjöstjärna", "Koltrast", "Strandråg",
		"Vinbär", "Fyrvaktare", "Kanalbåt", "Gatlykta", "Kummel"}
)

// slots returns a filler of the {slots} of a text with random places, the
// same for every text it fills, so a title and its body name one park.
func slots(r *rand.Rand, district string) func(string) string {
	return strings.NewReplacer(
		"{park}", pick(r, parks),
		"{place}", pick(r, places),
		"{street}", pick(r, streets),
		"{school}", pick(r, schools),
		"{district}", district,
		"{official}", "Anna L.",
	).Replace
}

// fill fills one text.
func fill(r *rand.Rand, s, district string) string { return slots(r, district)(s) }

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// asciiFold makes an e-mail local part of a name.
func asciiFold(s string) string {
	return strings.NewReplacer("å", "a", "ä", "a", "ö", "o", "Å", "A", "Ä", "A", "Ö", "O", "č", "c", "ć", "c", " ", ".").Replace(strings.ToLower(s))
}
