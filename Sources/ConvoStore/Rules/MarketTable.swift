// The market table of R7 (docs/domain.md; docs/pricing.md, "Markets"): the pricing market of the
// WhatsApp Business Platform that each calling code belongs to. It is data, kept in this one file.
// Markets.swift parses it once, and the Python model (Tests/model) parses this same file.
//
// FORMAT (for both parsers). The two marker lines below, each a whole line, enclose a line `"""`, then
// one row a line, then a line `"""`. A row is `calling_code<TAB>iso_alpha2<TAB>market` and nothing
// else. There are no comments, blank lines or escapes inside the literal.
// - calling_code: 1 to 4 ASCII digits. It is a country calling code (1 to 3 digits), a NANP area code
//   written as 1 and its 3 digits, or Kazakhstan's part of +7 (76, 77).
// - iso_alpha2: the country's ISO 3166-1 alpha-2 code.
// - market: that same code for a single-country market. Otherwise it is a group: north_america,
//   rest_of_africa, rest_of_asia_pacific, rest_of_central_eastern_europe, rest_of_latin_america,
//   rest_of_middle_east, rest_of_western_europe, or other.
// No calling code appears twice, and all of a country's rows name the same market. A phone number
// takes the market of its longest prefix in the table. A `CC.digits` user id takes the market of
// country CC's rows. A code or a country with no row is `other`.
//
// SOURCE: Meta, "Pricing on the WhatsApp Business Platform",
// https://developers.facebook.com/documentation/business-messaging/whatsapp/pricing/ (earlier at
// https://developers.facebook.com/docs/whatsapp/pricing). The table uses its list of the countries in
// each group ("If a country is not listed below, it maps to Other") and its rate card updates, as in
// force from 2026-10-01. The page was read through copies, not live, checked on 2026-11-30:
// - braze-inc/braze-docs, _docs/_hidden/pricing/*.md, "Billing region breakdown": Meta's group lists,
//   in a 2025 version and in a mid-2026 version that no longer has HK, SG, HU, PL, RO or QA in a group.
// - https://support.wati.io/en/articles/11561662-message-based-pricing-all-you-need-to-know (2025-26):
//   Zimbabwe (+263) moved from Other to Rest of Africa on 2025-10-01.
// - https://www.unifyport.ai/blog/whatsapp-july-2026-rate-card-inbound-only-teams/ (2026-06): Hong
//   Kong, Singapore, Hungary, Poland, Romania and Qatar have their own rates from 2026-07-01.
// - https://huggingface.co/datasets/WhaTools/whatsapp-open-data (from Meta's page, announced
//   2026-06-01): Bangladesh, Iraq, Kazakhstan, Kuwait, Morocco, Nepal, Oman, Sri Lanka and Ukraine have
//   their own rates from 2026-10-01.
// - https://huggingface.co/datasets/tobachat/whatsapp-api-rates: the card effective 2026-10-01 has
//   47 markets, the same count as here.
// - An independent public TypeScript copy of Meta's page (its repository was not named by the
//   search index), with the same lists and the same dated moves.
//
// DECISIONS
// - The table is the list in force since 2026-10-01. It has 39 single-country markets and 7 groups,
//   plus other. R7's market does not depend on time, so one list has to serve. The current list
//   accepts the current rate card.
//   Earlier, these countries were in groups:
//   - before 2026-10-01: BD, NP, LK in rest_of_asia_pacific; UA in rest_of_central_eastern_europe;
//     IQ, KW, OM in rest_of_middle_east; MA in rest_of_africa; KZ priced as Russia (+7);
//   - before 2026-07-01: HK, SG in rest_of_asia_pacific; HU, PL, RO in
//     rest_of_central_eastern_europe; QA in rest_of_middle_east;
//   - before 2025-10-01: ZW in other.
//   A rate card version from before a move has no rows for the new market, so R7 prices those
//   messages with that version's `other` rows. To price them as the platform did, give the old
//   version rows for the new market at the group's rates.
// - NANP (+1). The `1` row is north_america, Meta's "United States, Canada". Canada's area codes have
//   rows, all north_america, only so that `CA.` user ids find a market. The US territories VI, GU, MP
//   and AS are not named by Meta; they count as the United States. Meta lists three NANP countries
//   in rest_of_latin_america: Puerto Rico (1787, 1939), the Dominican Republic (1809, 1829, 1849) and
//   Jamaica (1876, 1658). Every other NANP country is in none of Meta's lists, so it is `other`:
//   Bahamas, Barbados, Trinidad and Tobago, and the rest listed at the end. Those rows exist only to
//   keep the `1` row from taking them. This disagrees with the brief for this table and with some
//   providers' tables, which put all the Caribbean in rest_of_latin_america. Meta's own list decides.
// - Kazakhstan shares +7 with Russia. Kazakhstan's numbering plan holds +7 6 and +7 7, so 76 and 77
//   are KZ and the rest of +7 is RU.
// - Meta's "Congo" is read as the Republic of the Congo (+242, ISO short name "Congo"). DR Congo
//   (+243) is in no list, so it is `other`.
// - A country that is in no list of Meta's has no row and is `other`, even when a neighbour is listed.
//   Examples: South Korea, Macau, Myanmar, Estonia, Bosnia, Montenegro, Kosovo, Kyrgyzstan, Iceland,
//   Luxembourg, Malta, Cyprus, Syria, Iran, Palestine, Belize, Cuba, Guyana, Suriname, DR Congo and
//   Guinea. Some providers' tables place these by geography; Meta's list does not.
// - Some territories number inside a listed country's code: Guernsey, Jersey and the Isle of Man
//   (+44), Åland (+358), Svalbard (+47), the Vatican (+39), Western Sahara (+212), and Christmas and
//   Cocos Islands (+61). A phone number there takes that country's market. They have no row, because
//   their prefixes are longer than 4 digits, so their `CC.` user ids are `other`.

/// The market table described above: one row a line, `calling_code<TAB>iso_alpha2<TAB>market`.
/// ``Markets`` parses it once.
enum MarketTable {
    /// The rows, exactly as the Python model reads them between the markers.
    static let text =
// BEGIN MARKET TABLE
"""
1	US	north_america
1204	CA	north_america
1226	CA	north_america
1236	CA	north_america
1249	CA	north_america
1250	CA	north_america
1257	CA	north_america
1263	CA	north_america
1289	CA	north_america
1306	CA	north_america
1340	VI	north_america
1343	CA	north_america
1354	CA	north_america
1365	CA	north_america
1367	CA	north_america
1368	CA	north_america
1382	CA	north_america
1387	CA	north_america
1403	CA	north_america
1416	CA	north_america
1418	CA	north_america
1428	CA	north_america
1431	CA	north_america
1437	CA	north_america
1438	CA	north_america
1450	CA	north_america
1468	CA	north_america
1474	CA	north_america
1506	CA	north_america
1514	CA	north_america
1519	CA	north_america
1548	CA	north_america
1579	CA	north_america
1581	CA	north_america
1584	CA	north_america
1587	CA	north_america
1600	CA	north_america
1604	CA	north_america
1613	CA	north_america
1639	CA	north_america
1647	CA	north_america
1670	MP	north_america
1671	GU	north_america
1672	CA	north_america
1683	CA	north_america
1684	AS	north_america
1705	CA	north_america
1709	CA	north_america
1742	CA	north_america
1753	CA	north_america
1778	CA	north_america
1780	CA	north_america
1782	CA	north_america
1807	CA	north_america
1819	CA	north_america
1825	CA	north_america
1867	CA	north_america
1873	CA	north_america
1879	CA	north_america
1902	CA	north_america
1905	CA	north_america
1942	CA	north_america
20	EG	EG
212	MA	MA
234	NG	NG
27	ZA	ZA
31	NL	NL
33	FR	FR
34	ES	ES
36	HU	HU
380	UA	UA
39	IT	IT
40	RO	RO
44	GB	GB
48	PL	PL
49	DE	DE
51	PE	PE
52	MX	MX
54	AR	AR
55	BR	BR
56	CL	CL
57	CO	CO
60	MY	MY
62	ID	ID
65	SG	SG
7	RU	RU
76	KZ	KZ
77	KZ	KZ
852	HK	HK
880	BD	BD
90	TR	TR
91	IN	IN
92	PK	PK
94	LK	LK
964	IQ	IQ
965	KW	KW
966	SA	SA
968	OM	OM
971	AE	AE
972	IL	IL
974	QA	QA
977	NP	NP
211	SS	rest_of_africa
213	DZ	rest_of_africa
216	TN	rest_of_africa
218	LY	rest_of_africa
220	GM	rest_of_africa
221	SN	rest_of_africa
222	MR	rest_of_africa
223	ML	rest_of_africa
225	CI	rest_of_africa
226	BF	rest_of_africa
227	NE	rest_of_africa
228	TG	rest_of_africa
229	BJ	rest_of_africa
231	LR	rest_of_africa
232	SL	rest_of_africa
233	GH	rest_of_africa
235	TD	rest_of_africa
237	CM	rest_of_africa
241	GA	rest_of_africa
242	CG	rest_of_africa
244	AO	rest_of_africa
245	GW	rest_of_africa
249	SD	rest_of_africa
250	RW	rest_of_africa
251	ET	rest_of_africa
252	SO	rest_of_africa
254	KE	rest_of_africa
255	TZ	rest_of_africa
256	UG	rest_of_africa
257	BI	rest_of_africa
258	MZ	rest_of_africa
260	ZM	rest_of_africa
261	MG	rest_of_africa
263	ZW	rest_of_africa
264	NA	rest_of_africa
265	MW	rest_of_africa
266	LS	rest_of_africa
267	BW	rest_of_africa
268	SZ	rest_of_africa
291	ER	rest_of_africa
61	AU	rest_of_asia_pacific
63	PH	rest_of_asia_pacific
64	NZ	rest_of_asia_pacific
66	TH	rest_of_asia_pacific
675	PG	rest_of_asia_pacific
81	JP	rest_of_asia_pacific
84	VN	rest_of_asia_pacific
855	KH	rest_of_asia_pacific
856	LA	rest_of_asia_pacific
86	CN	rest_of_asia_pacific
886	TW	rest_of_asia_pacific
93	AF	rest_of_asia_pacific
976	MN	rest_of_asia_pacific
992	TJ	rest_of_asia_pacific
993	TM	rest_of_asia_pacific
998	UZ	rest_of_asia_pacific
30	GR	rest_of_central_eastern_europe
355	AL	rest_of_central_eastern_europe
359	BG	rest_of_central_eastern_europe
370	LT	rest_of_central_eastern_europe
371	LV	rest_of_central_eastern_europe
373	MD	rest_of_central_eastern_europe
374	AM	rest_of_central_eastern_europe
375	BY	rest_of_central_eastern_europe
381	RS	rest_of_central_eastern_europe
385	HR	rest_of_central_eastern_europe
386	SI	rest_of_central_eastern_europe
389	MK	rest_of_central_eastern_europe
420	CZ	rest_of_central_eastern_europe
421	SK	rest_of_central_eastern_europe
994	AZ	rest_of_central_eastern_europe
995	GE	rest_of_central_eastern_europe
1658	JM	rest_of_latin_america
1787	PR	rest_of_latin_america
1809	DO	rest_of_latin_america
1829	DO	rest_of_latin_america
1849	DO	rest_of_latin_america
1876	JM	rest_of_latin_america
1939	PR	rest_of_latin_america
502	GT	rest_of_latin_america
503	SV	rest_of_latin_america
504	HN	rest_of_latin_america
505	NI	rest_of_latin_america
506	CR	rest_of_latin_america
507	PA	rest_of_latin_america
509	HT	rest_of_latin_america
58	VE	rest_of_latin_america
591	BO	rest_of_latin_america
593	EC	rest_of_latin_america
595	PY	rest_of_latin_america
598	UY	rest_of_latin_america
961	LB	rest_of_middle_east
962	JO	rest_of_middle_east
967	YE	rest_of_middle_east
973	BH	rest_of_middle_east
32	BE	rest_of_western_europe
351	PT	rest_of_western_europe
353	IE	rest_of_western_europe
358	FI	rest_of_western_europe
41	CH	rest_of_western_europe
43	AT	rest_of_western_europe
45	DK	rest_of_western_europe
46	SE	rest_of_western_europe
47	NO	rest_of_western_europe
1242	BS	other
1246	BB	other
1264	AI	other
1268	AG	other
1284	VG	other
1345	KY	other
1441	BM	other
1473	GD	other
1649	TC	other
1664	MS	other
1721	SX	other
1758	LC	other
1767	DM	other
1784	VC	other
1868	TT	other
1869	KN	other
"""
// END MARKET TABLE
}
