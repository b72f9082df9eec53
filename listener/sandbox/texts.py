"""The words of the demo world: what people say about Skylark Air (and its rival Nimbus Airways).

Kept apart from the generator so the corpus can grow without touching logic. Every text carries a
ground-truth topic and sentiment, which the generator stores on each post (never in a payload) so a
benchmark can score Earful's classifier against it. Slots: {brand} {other} {city} {city2} {flight}
{hours} {days} {amount} {crew} {month}.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    key: str
    sentiment: str  # negative | positive | neutral | mixed
    weight: float
    texts: tuple[str, ...]
    titles: tuple[str, ...] = ()


TOPICS: tuple[Topic, ...] = (
    Topic("lost_luggage", "negative", 1.4, (
        "{brand} lost my bag on the {city} to {city2} flight and nobody at the desk can tell me where it is. Day {days}.",
        "Day {days} without my luggage. {brand} keeps saying it is 'being traced'. Traced where??",
        "Landed in {city}, my suitcase apparently went on holiday somewhere else. Thanks {brand}.",
        "Filed a missing bag report with {brand} {days} days ago. No update, no call back, nothing.",
        "Pro tip if you fly {brand}: put a tracker in your checked bag. Mine says {city2}, their system says 'delivered'.",
        "My kid's car seat never came off the belt in {city}. {brand} says wait 5 days. We have a 2 year old.",
    ), (
        "{brand} lost my luggage, what are my options?",
        "Bag missing for {days} days after a {brand} flight to {city}",
        "Anyone ever get a lost bag back from {brand}?",
    )),
    Topic("delay", "negative", 1.3, (
        "Flight {flight} delayed again. {hours} hours at the gate in {city} and {brand} still hasn't said why.",
        "{brand} delayed us {hours} hours, then boarded us and parked us on the tarmac for another hour. Not great.",
        "Missed my connection in {city} because {brand} flight {flight} was late. Rebooked for tomorrow, no hotel voucher.",
        "Anyone else stuck in {city}? The {brand} board just says DELAYED with no new time.",
        "Three {brand} flights this month, three delays. Starting to think the schedule is fiction.",
    ), (
        "Delayed {hours} hours on {brand}, am I owed anything?",
        "{brand} flight {flight} delays every single week?",
    )),
    Topic("refund", "negative", 1.0, (
        "Still waiting on my refund from {brand} for a flight THEY cancelled in {month}. {amount} is not small change.",
        "{brand} gave me a voucher instead of the refund I asked for. I want my {amount} back, not credit.",
        "Fourth call to {brand} about my refund. Every agent tells me something different.",
        "{brand} refund 'processing' for {days} days now. How long does it take to press a button?",
    ), (
        "{brand} refund taking forever",
        "How I finally got my {amount} refund out of {brand}",
    )),
    Topic("cancellation", "negative", 0.8, (
        "{brand} just cancelled my {city} flight by text message, six hours before departure. Next seat is in {days} days.",
        "Cancelled. Again. {brand}, what is going on with the {city} route?",
        "Our whole family trip to {city2} is off because {brand} cancelled and can't rebook us before Sunday.",
    ), (
        "{brand} cancelled my flight to {city2}, rebooking options?",
    )),
    Topic("customer_service", "negative", 0.9, (
        "On hold with {brand} for {hours} hours now. I know every note of the hold music.",
        "The {brand} chat bot keeps sending me back to the FAQ. I need a human, please.",
        "Asked {brand} a simple question by email {days} days ago. Auto-reply only.",
    ), (
        "Is there any way to reach a human at {brand}?",
    )),
    Topic("crew_praise", "positive", 1.0, (
        "Shoutout to {crew} on {brand} flight {flight} who kept a cabin full of tired kids calm. Legend.",
        "The {brand} crew on my {city} flight were fantastic. Warm, funny, and they found my lost phone.",
        "Honestly {brand} has been great lately. On time, friendly crew, decent coffee.",
        "{brand} gate agent in {city} rebooked me in two minutes flat and apologised like she meant it. Thank you!",
        "Flew {brand} with my elderly mum and the crew looked after her the whole way. Really touched.",
    ), (
        "Shoutout to the {brand} crew on my flight to {city}",
        "Great experience with {brand} customer care for once",
    )),
    Topic("smooth_flight", "positive", 0.8, (
        "Smooth flight from {city} to {city2} with {brand}, landed 20 minutes early.",
        "First time flying {brand}. Legroom was better than expected and boarding was quick.",
        "Window seat, sunrise over the mountains, {brand} on time. Good morning.",
        "The new {brand} app made check-in painless. Boarding pass in my wallet in a minute.",
    ), (
        "Trip report: {brand} {city} to {city2} in the new cabin",
    )),
    Topic("baggage_question", "neutral", 0.9, (
        "Quick question for {brand}: is a backpack a personal item or a carry-on?",
        "What's the checked baggage allowance on {brand} basic economy? The website is confusing.",
        "Does {brand} let you bring a guitar in the cabin? Flying {city} to {city2} next month.",
        "Can I pay for an extra bag at the airport with {brand} or does it have to be online?",
    ), (
        "{brand} carry-on size, how strict are they?",
        "Baggage allowance on {brand} basic fares?",
    )),
    Topic("booking_question", "neutral", 0.7, (
        "Does {brand} charge to change the date if I booked the flex fare?",
        "Has anyone used {brand} miles for an upgrade? Worth it?",
        "Is {brand} seat selection free on the {city} route or only for members?",
    ), (
        "Are {brand} miles worth collecting?",
    )),
    Topic("wifi", "negative", 0.5, (
        "{brand} wifi was down the whole five hour flight. Paid {amount} for nothing.",
        "Tried to work on the {brand} flight to {city}. The wifi loaded one email in an hour.",
    ), ()),
    Topic("comparison", "mixed", 0.6, (
        "Flew {brand} out and {other} back. {other} was cheaper but {brand} had way better seats.",
        "{other} or {brand} for {city} to {city2}? Price is about the same.",
        "After this week I'm done with {brand}. Switching to {other} for work trips.",
    ), (
        "{brand} vs {other} for {city}?",
    )),
)

APP_OUTAGE = Topic("app_outage", "negative", 0.0, (
    "{brand} your app has been down for an hour, can't check in for my flight!!",
    "Is the {brand} app broken for everyone? Booking page just spins.",
    "{brand} website AND app both down. Can't check in, can't change my seat, can't see my booking.",
    "Great, the {brand} app crashed at the gate and now my boarding pass is gone.",
    "{brand} outage day. Queue at the {city} check-in desks is out the door.",
    "Error 503 on the {brand} booking page for 40 minutes now. Fix your app!!",
    "How does an airline's whole booking system go down on a Friday? Come on {brand}.",
    "Paid for my seat twice because the {brand} app froze and retried. Now neither shows up. Furious.",
    "Nobody at {brand} is saying anything about the outage. Just tell us what's going on.",
), (
    "{brand} booking app and website down for hours",
    "Is the {brand} app down for everyone?",
    "Ask HN: What happened to {brand}'s booking system today?",
))

OUTAGE_NEWS = Topic("app_outage", "negative", 0.0, (
    "Travellers reported being unable to check in or change bookings for several hours. The airline "
    "said engineers were working on a fix and urged customers to allow extra time at the airport.",
    "Long queues formed at check-in desks after the carrier's app and website stopped working.",
), (
    "{brand} booking app and website down for hours",
    "{brand} outage leaves travellers unable to check in",
))

NEWS = Topic("news", "neutral", 0.0, (
    "The airline said the change takes effect next season and existing bookings are not affected.",
    "Analysts expect fares on the route to fall as the two carriers compete for the same travellers.",
    "A spokesperson said customers would be contacted directly about any changes to their trips.",
), (
    "{brand} adds nonstop service between {city} and {city2}",
    "{brand} reports record summer traffic",
    "{brand} to retire its oldest jets by 2027",
    "Regulators review {brand} refund practices after complaints",
    "{brand} and {other} trade blows over transatlantic fares",
))

# Foreign-language texts: (language, topic, sentiment, text)
FOREIGN: tuple[tuple[str, str, str, str], ...] = (
    ("es", "lost_luggage", "negative", "¡{brand} perdió mi maleta en {city}! Tres días y nadie me responde."),
    ("es", "delay", "negative", "Vuelo {flight} con {brand} retrasado {hours} horas. Qué desastre."),
    ("es", "crew_praise", "positive", "La tripulación de {brand} fue muy amable, ¡gracias por todo!"),
    ("es", "baggage_question", "neutral", "¿Alguien sabe cuánto equipaje de mano permite {brand}?"),
    ("de", "lost_luggage", "negative", "{brand} hat meinen Koffer verloren. Seit {days} Tagen keine Antwort."),
    ("de", "delay", "negative", "Flug {flight} mit {brand} hat {hours} Stunden Verspätung. Super gemacht."),
    ("de", "crew_praise", "positive", "Tolle Crew bei {brand}, sehr freundlich und hilfsbereit."),
    ("de", "app_outage", "negative", "Die {brand} App funktioniert schon wieder nicht. Kein Check-in möglich."),
    ("fr", "lost_luggage", "negative", "{brand} a perdu ma valise à {city}. Toujours aucune nouvelle."),
    ("fr", "cancellation", "negative", "Vol {flight} annulé par {brand} sans explication. Inadmissible."),
    ("fr", "crew_praise", "positive", "Merci à l'équipage de {brand}, vol très agréable !"),
    ("fr", "baggage_question", "neutral", "Quelle est la franchise bagages chez {brand} ?"),
)

# Posts that match a naive keyword search but are not about the airline (precision matters).
NOISE: tuple[str, ...] = (
    "Heard a skylark singing above the dunes this morning. Best alarm clock there is.",
    "The Lark Ascending on the radio while a skylark sings outside. Perfect morning.",
    "Nimbus clouds rolling in over the bay, looks like rain for the weekend.",
    "Anyone know a decent lounge at {city} airport? Four hour layover.",
    "Packing cubes changed my life, that's the post.",
    "Window seat, sunrise over the Alps. Worth the 5am alarm.",
)

REPLIES: tuple[tuple[str, str], ...] = (
    ("Same thing happened to me last month.", "negative"),
    ("Have you tried them by DM? That got me an answer within a day.", "neutral"),
    ("You may be owed compensation for that, look up the EU261 rules.", "neutral"),
    ("Ugh, sorry. Hope you get it sorted.", "neutral"),
    ("{other} lost my bag last year, so it's not just them.", "negative"),
    ("Following, I'm flying them next week.", "neutral"),
    ("Did they ever reply to you?", "neutral"),
    ("This is why I only travel carry-on now.", "negative"),
    ("Glad it worked out! Had a good experience with them too.", "positive"),
)

BRAND_ANNOUNCEMENTS: tuple[str, ...] = (
    "New route alert: nonstop from {city} to {city2} starting this spring. Book now in the app.",
    "We're sorry for today's delays at {city}. Our teams are working to get everyone moving.",
    "Happy Friday! Tell us where you're flying this weekend.",
)

CITIES: tuple[str, ...] = (
    "Lisbon", "Denver", "Toronto", "Madrid", "Berlin", "Chicago", "Dublin", "Seattle", "Boston",
    "Austin", "Paris", "Rome", "Vancouver", "Reykjavik", "Mexico City", "Porto", "Montreal",
)
CREW: tuple[str, ...] = ("Priya", "Tom", "Lucia", "Marcus", "Aiko", "Jens", "Fatima", "Dan")
MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July")

FIRST_NAMES: tuple[str, ...] = (
    "Maria", "James", "Aisha", "Chen", "Lukas", "Sofia", "Diego", "Emma", "Omar", "Hannah", "Ravi",
    "Chloe", "Mateo", "Yuki", "Noah", "Fatou", "Liam", "Ingrid", "Kofi", "Zoe", "Pablo", "Mei",
    "Jonas", "Amara", "Sam", "Elena", "Tariq", "Grace", "Hugo", "Nadia",
)
LAST_NAMES: tuple[str, ...] = (
    "Garcia", "Smith", "Khan", "Wei", "Becker", "Rossi", "Lopez", "Brown", "Haddad", "Meyer",
    "Patel", "Martin", "Silva", "Tanaka", "Okafor", "Dubois", "Novak", "Jensen", "Costa", "Reid",
)
HANDLE_SUFFIXES: tuple[str, ...] = ("", "", "_travels", "89", "_x", "flies", "_nyc", "_de", "2",
                                    "_on_the_go", "writes", "")
