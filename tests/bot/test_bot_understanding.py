"""The bot's understanding (hub/bot/understand.py), table-driven: real phrasings in English and
Spanish (typos, missing accents, SMS spelling, capitals, emojis, extra words) and what each must
be understood as; menu choices; languages; red flags that must fire and near misses that must not;
and the data files themselves."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from hub.bot.understand import (
    INTENTS,
    INTENTS_FILE,
    MENU,
    RED_FLAG_CATEGORIES,
    RED_FLAGS_FILE,
    SEED_RED_FLAGS,
    IntentMatch,
    RedFlagPhrase,
    as_red_flag_list,
    detect_language,
    intent_info,
    match_intent,
    phrase_words,
    red_flags,
)

# (message, conversation language, intent)
INTENT_TABLE = [
    # appointment_request
    ("I need an appointment", "en", "appointment_request"),
    ("i need to make an appt", "en", "appointment_request"),
    ("Can I book an appointment for next week?", "en", "appointment_request"),
    ("I'd like to schedule a checkup", "en", "appointment_request"),
    ("need to see the doctor asap", "en", "appointment_request"),
    ("Do you have any openings tomorrow?", "en", "appointment_request"),
    ("can i get an apointment", "en", "appointment_request"),
    ("I want to make an appoitment", "en", "appointment_request"),
    ("APPOINTMENT PLEASE", "en", "appointment_request"),
    ("need appt for my son 🤒", "en", "appointment_request"),
    ("When is the next available with Dr Lee", "en", "appointment_request"),
    ("I need a physical for school", "en", "appointment_request"),
    ("my daughter needs a sick visit today", "en", "appointment_request"),
    ("Necesito una cita", "es", "appointment_request"),
    ("necesito una sita", "es", "appointment_request"),
    ("Quiero hacer una cita para mi hijo", "es", "appointment_request"),
    ("quisiera sacar una cita con la doctora", "es", "appointment_request"),
    ("Me pueden dar una cita para el lunes?", "es", "appointment_request"),
    ("kiero una cita xfa", "es", "appointment_request"),
    ("necesito ver al médico", "es", "appointment_request"),
    ("necesito ver al medico", "es", "appointment_request"),
    ("Tienen espacio hoy?", "es", "appointment_request"),
    ("quiero agendar para el martes", "es", "appointment_request"),
    ("CITA", "es", "appointment_request"),
    ("necesito un chequeo", "es", "appointment_request"),
    ("hola buenas tardes quisiera una cita", "es", "appointment_request"),
    # appointment_reschedule
    ("I need to reschedule my appointment", "en", "appointment_reschedule"),
    ("can I reschedule", "en", "appointment_reschedule"),
    ("Can i resched my appt", "en", "appointment_reschedule"),
    ("I need to change my appointment to Friday", "en", "appointment_reschedule"),
    ("could we move my appointment to a different day", "en", "appointment_reschedule"),
    ("can my appointment be changed to the afternoon", "en", "appointment_reschedule"),
    ("I need a different time for my appt", "en", "appointment_reschedule"),
    ("Is it possible to push my appointment back a week?", "en", "appointment_reschedule"),
    ("reeschedule please", "en", "appointment_reschedule"),
    ("I can't make it Tuesday, can I reschedule?", "en", "appointment_reschedule"),
    ("need to postpone my visit", "en", "appointment_reschedule"),
    ("Quiero cambiar mi cita", "es", "appointment_reschedule"),
    ("necesito cambiar la cita para otro dia", "es", "appointment_reschedule"),
    ("puedo cambiar mi sita?", "es", "appointment_reschedule"),
    ("Se puede reprogramar mi cita?", "es", "appointment_reschedule"),
    ("quiero reagendar", "es", "appointment_reschedule"),
    ("necesito otra fecha para mi cita", "es", "appointment_reschedule"),
    ("me pueden mover la cita al viernes", "es", "appointment_reschedule"),
    ("hay otro horario disponible?", "es", "appointment_reschedule"),
    ("¿Puedo posponer mi cita?", "es", "appointment_reschedule"),
    ("no puedo ir el martes, puedo cambiar la fecha?", "es", "appointment_reschedule"),
    # appointment_cancel (never the bare keyword)
    ("cancel my appointment", "en", "appointment_cancel"),
    ("Cancel my appointment please", "en", "appointment_cancel"),
    ("I need to cancel my appt tomorrow", "en", "appointment_cancel"),
    ("i have to cancel", "en", "appointment_cancel"),
    ("Please cancel my appointment on Monday", "en", "appointment_cancel"),
    ("I want to cancell my apointment", "en", "appointment_cancel"),
    ("I cant make it to my appointment", "en", "appointment_cancel"),
    ("I can't make it tomorrow", "en", "appointment_cancel"),
    ("won't be able to come on Thursday", "en", "appointment_cancel"),
    ("I'm not coming to my appointment", "en", "appointment_cancel"),
    ("I cancelled my appointment already right?", "en", "appointment_cancel"),
    ("Quiero cancelar mi cita", "es", "appointment_cancel"),
    ("cancelar mi sita", "es", "appointment_cancel"),
    ("necesito cancelar la cita del jueves", "es", "appointment_cancel"),
    ("tengo que cancelar", "es", "appointment_cancel"),
    ("No puedo ir a mi cita mañana", "es", "appointment_cancel"),
    ("no voy a poder ir", "es", "appointment_cancel"),
    ("no podré asistir a la cita", "es", "appointment_cancel"),
    ("kiero kancelar mi cita", "es", "appointment_cancel"),
    ("CANCELAR CITA", "es", "appointment_cancel"),
    # billing
    ("I have a question about my bill", "en", "billing"),
    ("I got a bill I don't understand", "en", "billing"),
    ("how do i pay my bill online", "en", "billing"),
    ("Why was I charged twice?", "en", "billing"),
    ("what is my balance", "en", "billing"),
    ("How much do I owe?", "en", "billing"),
    ("I want to set up a payment plan", "en", "billing"),
    ("my copay was wrong", "en", "billing"),
    ("I think I was overcharged", "en", "billing"),
    ("billing question", "en", "billing"),
    ("can I get a receipt for my visit", "en", "billing"),
    ("my insurance denied the claim", "en", "billing"),
    ("how much does a visit cost without insurance", "en", "billing"),
    ("Tengo una pregunta sobre mi factura", "es", "billing"),
    ("tengo una pregunta sobre mi factrua", "es", "billing"),
    ("quiero pagar mi cuenta", "es", "billing"),
    ("cuanto debo?", "es", "billing"),
    ("¿Cuánto debo?", "es", "billing"),
    ("Me cobraron de más", "es", "billing"),
    ("me llego un cobro que no entiendo", "es", "billing"),
    ("cuanto cuesta una consulta sin seguro", "es", "billing"),
    ("necesito un recibo", "es", "billing"),
    ("quiero un plan de pagos", "es", "billing"),
    ("el seguro no pagó", "es", "billing"),
    ("cual es mi saldo", "es", "billing"),
    # refill
    ("I need a refill", "en", "refill"),
    ("Can I get a refill on my blood pressure meds?", "en", "refill"),
    ("i need my prescription renewed", "en", "refill"),
    ("I ran out of my medication", "en", "refill"),
    ("refil please", "en", "refill"),
    ("Need more of my inhaler", "en", "refill"),
    ("can you send my rx to the pharmacy", "en", "refill"),
    ("I need a perscription refill", "en", "refill"),
    ("out of pills", "en", "refill"),
    ("2 refills", "en", "refill"),  # a number, but not only a number: no menu choice
    ("Necesito una receta", "es", "refill"),
    ("necesito resurtir mi receta", "es", "refill"),
    ("necesito resetar mi medicina", "es", "refill"),
    ("se me acabaron las pastillas", "es", "refill"),
    ("me puede mandar la recetta a la farmacia", "es", "refill"),
    ("necesito mas medicamento para la presión", "es", "refill"),
    ("ya no tengo insulina", "es", "refill"),
    ("Necesito más medicina", "es", "refill"),
    # results
    ("Are my test results in?", "en", "results"),
    ("did my lab results come back", "en", "results"),
    ("I want to know my blood work results", "en", "results"),
    ("results of my xray", "en", "results"),
    ("any news on my MRI?", "en", "results"),
    ("my biopsy results", "en", "results"),
    ("can you tell me the resluts", "en", "results"),
    ("Ya están mis resultados?", "es", "results"),
    ("quiero saber los resultados de mis análisis", "es", "results"),
    ("ya llegaron mis examenes de sangre", "es", "results"),
    ("resultados del laboratorio", "es", "results"),
    ("resultado de mi ultrasonido", "es", "results"),
    ("me hicieron una radiografia y quiero saber el resultado", "es", "results"),
    ("resultdos", "es", "results"),
    # new_patient
    ("I'm a new patient", "en", "new_patient"),
    ("Are you accepting new patients?", "en", "new_patient"),
    ("I'd like to become a patient", "en", "new_patient"),
    ("how do i register as a patient", "en", "new_patient"),
    ("first time here, need an appointment", "en", "new_patient"),
    ("new patient appointment", "en", "new_patient"),
    ("I want to transfer my care to your clinic", "en", "new_patient"),
    ("Soy paciente nuevo", "es", "new_patient"),
    ("soy nueva, quiero una cita", "es", "new_patient"),
    ("es mi primera vez", "es", "new_patient"),
    ("Aceptan pacientes nuevos?", "es", "new_patient"),
    ("quiero registrarme como paciente", "es", "new_patient"),
    ("nunca he ido a su clinica", "es", "new_patient"),
    # human
    ("I want to talk to a person", "en", "human"),
    ("can I speak to someone", "en", "human"),
    ("REAL PERSON", "en", "human"),
    ("person", "en", "human"),
    ("agent", "en", "human"),
    ("representative please", "en", "human"),
    ("please have someone call me", "en", "human"),
    ("can someone call me back", "en", "human"),
    ("I need to talk to someone about my bill", "en", "human"),
    ("talk to a human!!!", "en", "human"),
    ("Quiero hablar con una persona", "es", "human"),
    ("persona", "es", "human"),
    ("PERSONA", "es", "human"),
    ("hablar con alguien por favor", "es", "human"),
    ("quiero hablar con un humano", "es", "human"),
    ("me pueden llamar?", "es", "human"),
    ("llamenme por favor", "es", "human"),
    ("necesito hablar con la enfermera", "es", "human"),
    ("quiero hablar con alguien sobre mi factura", "es", "human"),
    # faq_hours
    ("What are your hours?", "en", "faq_hours"),
    ("what time do you open", "en", "faq_hours"),
    ("are you open on saturday", "en", "faq_hours"),
    ("Are u open today", "en", "faq_hours"),
    ("what time do you close today?", "en", "faq_hours"),
    ("office hours?", "en", "faq_hours"),
    ("hrs?", "en", "faq_hours"),
    ("A qué hora abren?", "es", "faq_hours"),
    ("a q hora abren", "es", "faq_hours"),
    ("cual es su horario", "es", "faq_hours"),
    ("¿Están abiertos hoy?", "es", "faq_hours"),
    ("hasta que hora atienden", "es", "faq_hours"),
    ("a que hora cierran", "es", "faq_hours"),
    # faq_address
    ("What's your address?", "en", "faq_address"),
    ("where are you located", "en", "faq_address"),
    ("where is the clinic", "en", "faq_address"),
    ("I need directions", "en", "faq_address"),
    ("adress?", "en", "faq_address"),
    ("Cuál es la dirección?", "es", "faq_address"),
    ("cual es la direccion", "es", "faq_address"),
    ("donde estan ubicados", "es", "faq_address"),
    ("¿Dónde queda la clínica?", "es", "faq_address"),
    ("como llego a la clinica", "es", "faq_address"),
    # faq_parking
    ("Is there parking?", "en", "faq_parking"),
    ("where do I park", "en", "faq_parking"),
    ("is parking free", "en", "faq_parking"),
    ("where do i park, what's the address", "en", "faq_parking"),
    ("Hay estacionamiento?", "es", "faq_parking"),
    ("donde me puedo estacionar", "es", "faq_parking"),
    ("tienen parqueo?", "es", "faq_parking"),
    # faq_insurance
    ("Do you take my insurance?", "en", "faq_insurance"),
    ("do you accept medicaid", "en", "faq_insurance"),
    ("Do you take Blue Cross?", "en", "faq_insurance"),
    ("are you in network with aetna", "en", "faq_insurance"),
    ("what insurance do you accept", "en", "faq_insurance"),
    ("insurence?", "en", "faq_insurance"),
    ("Aceptan mi seguro?", "es", "faq_insurance"),
    ("aceptan medicaid?", "es", "faq_insurance"),
    ("no tengo seguro, me pueden atender?", "es", "faq_insurance"),
    ("que aseguranzas aceptan", "es", "faq_insurance"),
    # greeting
    ("Hi", "en", "greeting"),
    ("hello!", "en", "greeting"),
    ("hey there 👋", "en", "greeting"),
    ("Good morning", "en", "greeting"),
    ("Hola", "es", "greeting"),
    ("ola", "es", "greeting"),
    ("Buenos días", "es", "greeting"),
    ("buenas tardes", "es", "greeting"),
    ("buenas", "es", "greeting"),
    # thanks
    ("thanks", "en", "thanks"),
    ("Thank you so much!", "en", "thanks"),
    ("thx", "en", "thanks"),
    ("ty 🙏", "en", "thanks"),
    ("hi, thanks for your help", "en", "thanks"),
    ("Gracias", "es", "thanks"),
    ("muchas gracias!!", "es", "thanks"),
    ("grasias", "es", "thanks"),
    ("mil gracias, muy amable", "es", "thanks"),
    # the other language's phrases count too: patients mix them
    ("quiero un appointment", "es", "appointment_request"),
    ("quiero cancel mi appointment", "es", "appointment_cancel"),
]

# Menu choices: (message, menu number)
MENU_TABLE = [
    ("1", 1),
    ("2", 2),
    ("2.", 2),
    ("#2", 2),
    ("2️⃣", 2),
    (" 3 ", 3),
    ("opción 2", 2),
    ("opcion 4", 4),
    ("Option 5", 5),
    ("option #6 please", 6),
    ("number 7", 7),
    ("8", 8),
    ("two", 2),
    ("Two", 2),
    ("dos", 2),
    ("la dos", 2),
    ("la opción tres", 3),
    ("cuatro por favor", 4),
    ("I'd like 1", 1),
    ("quiero la 5", 5),
    ("press 8", 8),
    ("numero 6", 6),
    ("ocho", 8),
    ("１", 1),  # a full-width digit from an Asian keyboard
]

# Neither a menu choice nor an intent the bot may act on: it asks again (or hands off).
NOTHING_TABLE = [
    "",
    "   ",
    "🙂",
    "ok",
    "OK!",
    "yes",
    "no",
    "sí",
    "9",
    "0",
    "12",
    "123456",  # a one-time code
    "03/09/1984",  # a date of birth
    "CANCEL",  # the SMS opt-out keyword, handled before the bot
    "cancelar",
    "STOP",
    "I have a question",
    "tengo una pregunta",
    "asdfgh",
    "I need a refill and my test results",  # two intents: ambiguous
    "quiero pagar mi factura y resurtir mi receta",
    "what about my son",
    "my cat will be fine",
    "I was diagnosed with cancer last year",
    "te cuento que ayer fui",
    "resulta que estoy mejor",
    "estoy segura",
]

LANGUAGE_TABLE = [
    ("hola", "es"),
    ("Hola!", "es"),
    ("gracias", "es"),
    ("grasias", "es"),
    ("buenas", "es"),
    ("sí", "es"),
    ("si", "es"),
    ("necesito una cita", "es"),
    ("kiero kancelar", "es"),
    ("¿?", "es"),
    ("me duele el pecho", "es"),
    ("Buenos días, quisiera saber si tienen citas para el lunes", "es"),
    ("necesito resurtir mi receta", "es"),
    ("hi", "en"),
    ("hello", "en"),
    ("thanks", "en"),
    ("thx", "en"),
    ("yes", "en"),
    ("I need an appointment", "en"),
    ("can't breathe", "en"),
    ("What are your hours?", "en"),
    ("Hola, I need an appointment for tomorrow", "en"),
    ("Hi, necesito una cita para mañana por favor", "es"),
    ("appointmnet", "en"),
    ("ok", None),
    ("OK", None),
    ("1", None),
    ("2.", None),
    ("no", None),
    ("", None),
    ("🙂👍", None),
    ("Linh Tran", None),
    ("911", None),
    ("hola thanks", None),
]

# (message, category of the first red flag)
RED_FLAG_POSITIVES = [
    # cardiac
    ("I have chest pain", "cardiac"),
    ("CHEST PAIN", "cardiac"),
    ("bad pain in my chest since this morning", "cardiac"),
    ("my chest hurts really bad", "cardiac"),
    ("Chest pains and sweating", "cardiac"),
    ("i think im having a heart attack", "cardiac"),
    ("my dad is having a heart atack", "cardiac"),
    ("I have a lot of pressure in my chest", "cardiac"),
    ("pain going down my left arm", "cardiac"),
    ("Me duele el pecho", "cardiac"),
    ("me duele mucho el pecho", "cardiac"),
    ("le duele mucho el pecho a mi papá", "cardiac"),
    ("tengo dolor en el pecho", "cardiac"),
    ("dolor de pecho", "cardiac"),
    ("creo que es un infarto", "cardiac"),
    ("siento presion en el pecho", "cardiac"),
    ("My mom says she has chest pain", "cardiac"),
    # breathing
    ("I can't breathe", "breathing"),
    ("i cant breath", "breathing"),
    ("I cannot breathe", "breathing"),
    ("my son is having trouble breathing", "breathing"),
    ("short of breath and dizzy", "breathing"),
    ("she's gasping for air", "breathing"),
    ("his lips are turning blue", "breathing"),
    ("No puedo respirar", "breathing"),
    ("no puedo respirrar bien", "breathing"),
    ("mi hijo no puede respirar", "breathing"),
    ("me falta el aire", "breathing"),
    ("Me estoy ahogando", "breathing"),
    ("mi bebé no respira", "breathing"),
    # stroke
    ("I think my wife is having a stroke", "stroke"),
    ("his face is drooping on one side", "stroke"),
    ("my mom has slurred speech all of a sudden", "stroke"),
    ("I'm numb on one side", "stroke"),
    ("worst headache of my life", "stroke"),
    ("A mi papá se le cayó la cara de un lado", "stroke"),
    ("creo que le dio un derrame cerebral", "stroke"),
    ("tiene la boca torcida", "stroke"),
    ("mi mama arrastra las palabras", "stroke"),
    ("no puedo mover el brazo derecho", "stroke"),
    # self_harm
    ("I want to kill myself", "self_harm"),
    ("i want to die", "self_harm"),
    ("I don't want to live anymore", "self_harm"),
    ("thinking about suicide", "self_harm"),
    ("I've been cutting myself", "self_harm"),
    ("i wanna die", "self_harm"),
    ("I'm going to hurt myself", "self_harm"),
    ("everyone would be better off if I was dead, better off dead", "self_harm"),
    ("I feel suicidal", "self_harm"),
    ("Me quiero morir", "self_harm"),
    ("ya no quiero vivir", "self_harm"),
    ("quiero matarme", "self_harm"),
    ("me quiero matar", "self_harm"),
    ("pienso en quitarme la vida", "self_harm"),
    ("quiero hacerme daño", "self_harm"),
    ("he pensado en el suicidio", "self_harm"),
    ("quiero suisidarme", "self_harm"),
    # bleeding
    ("the bleeding won't stop", "bleeding"),
    ("my cut won't stop bleeding", "bleeding"),
    ("he is bleeding a lot from his head", "bleeding"),
    ("I'm throwing up blood", "bleeding"),
    ("coughing up blood", "bleeding"),
    ("No para de sangrar", "bleeding"),
    ("está sangrando mucho", "bleeding"),
    ("estoy vomitando sangre", "bleeding"),
    ("tiene una herida profunda", "bleeding"),
    # overdose
    ("my son took too many pills", "overdose"),
    ("I think I overdosed", "overdose"),
    ("my toddler drank bleach", "overdose"),
    ("she swallowed a battery", "overdose"),
    ("Se tomó todas las pastillas", "overdose"),
    ("sobredosis", "overdose"),
    ("mi niño tomó cloro", "overdose"),
    # allergy
    ("my throat is closing", "allergy"),
    ("having an allergic reaction, tongue swelling", "allergy"),
    ("I had to use my epipen", "allergy"),
    ("se me cierra la garganta", "allergy"),
    ("tengo la lengua hinchada", "allergy"),
    ("reacción alérgica", "allergy"),
    # unconscious
    ("my husband passed out and won't wake up", "unconscious"),
    ("she is having a seizure", "unconscious"),
    ("he's unresponsive", "unconscious"),
    ("Mi hijo está teniendo convulsiones", "unconscious"),
    ("se desmayó", "unconscious"),
    ("mi abuela no reacciona", "unconscious"),
    # pregnancy
    ("I'm pregnant and bleeding", "pregnancy"),
    ("my water broke", "pregnancy"),
    ("I'm 30 weeks and the baby stopped moving", "pregnancy"),
    ("se me rompió la fuente", "pregnancy"),
    ("estoy embarazada y sangrando", "pregnancy"),
    ("el bebé no se mueve", "pregnancy"),
    # emergency
    ("please call 911", "emergency"),
    ("send an ambulance", "emergency"),
    ("llamen al 911", "emergency"),
    ("necesito una ambulancia", "emergency"),
    # negation still counts, on purpose: a person looks
    ("no chest pain", "cardiac"),
    ("I don't have chest pain but I feel weird", "cardiac"),
    ("I'm not going to kill myself, I just feel down", "self_harm"),
    ("no me duele el pecho", "cardiac"),
    # the other language, whatever the conversation's
    ("hola, tengo chest pain", "cardiac"),
    ("help me duele el pecho", "cardiac"),
    # voice-note transcripts: no punctuation, run-on
    ("hi this is maria calling about my mom she says her chest hurts and she cant breathe", "cardiac"),
    # the 988 Lifeline's warning signs, said without the words suicide or kill (988 first)
    ("i feel like a burden to everyone", "self_harm"),
    ("siento que soy un estorbo para mi familia", "self_harm"),
    ("been researching ways to die", "self_harm"),
    ("estuve buscando formas de matarme", "self_harm"),
    ("whats a lethal dose of tylenol", "self_harm"),
    ("my teen is giving away her things and saying goodbye to her friends", "self_harm"),
    ("regaló sus cosas y se despidió de todos", "self_harm"),
    ("i have a knife and keep thinking about using it on myself", "self_harm"),
    ("tengo un cuchillo y pienso usarlo contra mi", "self_harm"),
    ("im standing on the bridge right now", "self_harm"),
    ("estoy parada en el puente", "self_harm"),
    ("ive been stockpiling my oxy", "self_harm"),
    ("he estado juntando mis pastillas para dormir", "self_harm"),
    ("i just want it all to stop", "self_harm"),
    ("solo quiero que todo se acabe", "self_harm"),
    ("my wife said she wants to go to sleep and not wake up", "self_harm"),  # not "won't wake up"
    ("quiero dormir para siempre", "self_harm"),
    # a stroke told by its signs (BE FAST), not its name
    ("my dad is answering random stuff", "stroke"),
    ("mi papa contesta cosas que no tienen nada que ver", "stroke"),
    ("grandpa keeps leaning to one side", "stroke"),
    ("mi abuelo se va de lado en la silla", "stroke"),
    ("he cant walk straight", "stroke"),
    ("no puede caminar derecho", "stroke"),
    ("woke up and couldnt move my left leg", "stroke"),
    ("me desperte y no podia mover la pierna", "stroke"),
    ("her arm keeps drifting down", "stroke"),
    ("the right side of her mouth is hanging", "stroke"),
    # out, said loosely; a head hit and vomiting
    ("my grandpa just keeled over", "unconscious"),
    ("mi mama esta bien ida y no contesta", "unconscious"),
    ("a mi mija le dio un soponcio y no vuelve en si", "unconscious"),
    ("he hit his head and now hes throwing up", "unconscious"),
    ("se pego en la cabeza y ahora vomita", "unconscious"),
    # bleeding inside, or on a blood thinner
    ("my dad vomited something like coffee grinds", "bleeding"),
    ("vomite algo como asientos de cafe", "bleeding"),
    ("im on blood thinners and hit my head", "bleeding"),
    # sedatives with alcohol; household liquids
    ("took 2 xanax and drank half a bottle of vodka", "overdose"),
    ("se tomó unos clonazepam con tequila", "overdose"),
    ("my daughter drank lamp oil", "overdose"),
    ("mi bebe tomo quitaesmalte", "overdose"),
    ("my eyes are swelling shut after eating shrimp", "allergy"),
    # CDC Hear Her: swelling of hands or face, a leg after birth, an incision
    ("im pregnant and my hands and face are swollen", "pregnancy"),
    ("i gave birth 10 days ago and my leg is swollen and red", "pregnancy"),
    ("di a luz hace 10 dias y tengo la pierna hinchada", "pregnancy"),
    ("my c section incision is leaking pus", "pregnancy"),
    ("se me abrieron los puntos de la cesarea", "pregnancy"),
    # wanting to die said with the body's words: 988 first, not the breathing or bleeding answer
    ("i want to stop breathing", "self_harm"),
    ("quiero desangrarme", "self_harm"),
    ("i want to overdose and not wake up", "self_harm"),
    ("ngl i dont wanna be here no more", "self_harm"),
    # SMS and Spanglish
    ("im 7 months and i havent felt her move since last night", "pregnancy"),
    ("my bby is 2 wks and has a fever", "newborn"),
    ("mi bb tiene 3 semanas y tiene calentura", "newborn"),
    ("me duele el chest y el brazo", "cardiac"),
    ("bleedin alot cant make it stop", "bleeding"),
    # minimised
    ("not sure if its anything but my moms smile looks a little off", "stroke"),
    ("kinda wish i wasnt here anymore", "self_harm"),
    ("medio quisiera ya no estar aqui", "self_harm"),
    ("my mom was out of it for a minute and didnt recognize me", "unconscious"),
    ("i think my son might have taken one of my pills, not sure", "overdose"),
]

# Near misses: these must not raise a flag.
RED_FLAG_NEGATIVES = [
    "I'm painting my chest of drawers",
    "painting the house this weekend",
    "I need a refill on my pain medication",
    "can I get my blood test results",
    "My back is killing me lol",
    "this bill is killing me",
    "me muero de risa",
    "me muero de hambre",
    "I'm dying to know my results",
    "tengo una cita el martes",
    "I need to reschedule my appointment",
    "cortarme el pelo",
    "un mensaje corto",
    "quiero cancelar mi cita",
    "the breathing exercises helped",
    "necesito una receta para mi presion",
    "is the clinic open on Saturday?",
    "my chest x-ray results",
    "ok thanks",
    "",
    # the words of a warning sign in an ordinary sense
    "my dental bridge came loose",
    "my daughter does jump rope at school",
    "i feel like a burden asking again but can you resend the forms",
    "goodbye and thank you for everything, we are moving to texas",
    "i said goodbye to my old doctor, can i be a new patient",
    "i want these robocalls to stop",
    "quiero que todo se haga en una sola cita",
    "regale la ropa de bebe porque mis hijos ya crecieron",
    "my rash disappeared for good after the cream",
    "is the clinic by the bridge open today",
    "i have my pills in my hand, which one is the blood pressure one",
    "i lean to the left when i sit because of my hip",
    "mi papa esta confundido con su factura",
    "my 2 year old's speech is slow, can we get a speech evaluation",
    "vomite el cafe en la mañana por tomarlo en ayunas",
    "i saw a little blood on the toilet paper, probably hemorrhoids",
    "how do i store my insulin when traveling",
    "como guardo la insulina cuando viajo",
    "my son licked a bar of soap lol he is fine",
    "my smile looks weird in photos, do you do whitening",
    "mi sonrisa se ve rara con los brackets",
    "my son has taken his pills today, can he eat now",
    "i didnt recognize the number that called me",
]


@pytest.mark.parametrize(("text", "language", "intent"), INTENT_TABLE)
def test_intents(text: str, language: str, intent: str) -> None:
    match = match_intent(text, language)
    assert match is not None and match.intent == intent, (text, match)
    assert 0 < match.score <= 1
    assert match.matched and match.matched in text


def test_the_table_is_big_and_covers_every_intent_in_both_languages() -> None:
    assert len(INTENT_TABLE) >= 150
    covered = Counter((intent, language) for _, language, intent in INTENT_TABLE)
    for intent in INTENTS:
        assert covered[(intent, "en")] and covered[(intent, "es")], intent


@pytest.mark.parametrize(("text", "number"), MENU_TABLE)
def test_menu_choices(text: str, number: int) -> None:
    for language in ("en", "es"):
        match = match_intent(text, language)
        assert match == IntentMatch(MENU[number], 1.0, match.matched if match else "", menu=number), (text, match)


def test_the_menu_is_1_to_8_and_the_same_in_both_languages() -> None:
    assert sorted(MENU) == list(range(1, 9))
    assert [MENU[n] for n in range(1, 9)] == [
        "appointment_request",
        "appointment_reschedule",
        "appointment_cancel",
        "billing",
        "refill",
        "results",
        "new_patient",
        "human",
    ]
    for number, intent in MENU.items():
        assert set(INTENTS[intent].label) == {"en", "es"}, intent
        assert match_intent(str(number), "en") == match_intent(str(number), "es")


@pytest.mark.parametrize("text", NOTHING_TABLE)
def test_no_intent(text: str) -> None:
    assert match_intent(text, "en") is None
    assert match_intent(text, "es") is None


def test_the_most_specific_wins_and_says_what_gave_way() -> None:
    match = match_intent("I want to talk to someone about my bill", "en")
    assert match is not None and match.intent == "human" and "billing" in match.others
    match = match_intent("reschedule my appointment", "en")
    assert match is not None and match.intent == "appointment_reschedule" and "appointment_request" in match.others
    match = match_intent("hi, I need a refill", "en")
    assert match is not None and match.intent == "refill" and match.others == ("greeting",)


def test_typos_cost_a_little_confidence() -> None:
    exact, typo = match_intent("factura", "es"), match_intent("factrua", "es")
    assert exact is not None and typo is not None and exact.intent == typo.intent == "billing"
    assert typo.score < exact.score == 1.0


def test_intent_info() -> None:
    assert intent_info("appointment_reschedule") == ("scheduling", True)
    assert intent_info("billing") == ("billing", True)
    assert intent_info("refill") == ("clinical", True)
    assert intent_info("results") == ("clinical", True)
    assert intent_info("new_patient") == ("intake", False)
    assert intent_info("faq_hours")[1] is False


@pytest.mark.parametrize(("text", "language"), LANGUAGE_TABLE)
def test_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


SEED = as_red_flag_list(SEED_RED_FLAGS)


@pytest.mark.parametrize(("text", "category"), RED_FLAG_POSITIVES)
def test_red_flags(text: str, category: str) -> None:
    hits = red_flags(text, SEED)
    assert hits and hits[0].category == category, (text, hits)
    for hit in hits:
        assert text[hit.start : hit.end] == hit.matched


@pytest.mark.parametrize("text", RED_FLAG_NEGATIVES)
def test_no_red_flags(text: str) -> None:
    assert red_flags(text, SEED) == [], text


def test_red_flags_are_in_the_order_of_the_text_and_not_repeated() -> None:
    hits = red_flags("I took too many pills and now I want to die", SEED)
    assert [h.category for h in hits] == ["overdose", "self_harm"]
    hits = red_flags("severe chest pain", SEED)
    assert len(hits) == 1 and hits[0].matched == "chest pain"


def test_red_flags_from_the_database_and_what_they_say() -> None:
    phrases = [
        RedFlagPhrase("en", "purple toes", "other", id=41),
        RedFlagPhrase("es", "dedos morados", "other", id=42),
    ]
    hits = red_flags("Mis dedos están morados", phrases)
    assert [(h.id, h.phrase, h.language, h.matched) for h in hits] == [
        (42, "dedos morados", "es", "dedos están morados")
    ]
    assert red_flags("my toes are purple", phrases)[0].id == 41
    assert red_flags("my toes are purple", []) == []
    assert red_flags("purple nose", phrases) == []


# --- the data files ------------------------------------------------------------------------------


def test_every_intent_is_complete() -> None:
    raw = tomllib.loads(INTENTS_FILE.read_text(encoding="utf-8"))
    assert set(raw["intent"]) == {
        "appointment_request",
        "appointment_reschedule",
        "appointment_cancel",
        "billing",
        "refill",
        "results",
        "new_patient",
        "human",
        "faq_hours",
        "faq_address",
        "faq_parking",
        "faq_insurance",
        "greeting",
        "thanks",
    }
    for info in INTENTS.values():
        assert set(info.phrases) == {"en", "es"}, info.name
        assert all(info.phrases[lang] for lang in ("en", "es")), info.name
        assert info.team in {"scheduling", "billing", "clinical", "intake"}, info.name
    for name in ("appointment_request", "appointment_reschedule", "appointment_cancel", "billing", "refill", "results"):
        assert INTENTS[name].verify, name


def test_no_intent_phrase_twice_and_each_matches_itself() -> None:
    seen: dict[tuple[str, ...], str] = {}
    for info in INTENTS.values():
        for language, phrases in info.phrases.items():
            for phrase in phrases:
                words = phrase_words(phrase)
                assert words, (info.name, phrase)
                assert words not in seen, (phrase, "same words as", seen.get(words))
                seen[words] = f"{info.name}: {phrase}"
                match = match_intent(phrase, language)
                assert match is not None and match.intent == info.name, (info.name, phrase, match)


def test_no_cancel_phrase_is_the_opt_out_keyword() -> None:
    for phrases in INTENTS["appointment_cancel"].phrases.values():
        for phrase in phrases:
            assert phrase_words(phrase) not in (phrase_words("cancel"), phrase_words("cancelar")), phrase


def test_every_red_flag_category_is_complete() -> None:
    raw = tomllib.loads(RED_FLAGS_FILE.read_text(encoding="utf-8"))
    assert {"cardiac", "breathing", "stroke", "self_harm", "bleeding"} <= set(raw)
    for key, category in RED_FLAG_CATEGORIES.items():
        assert category.call and set(category.label) == {"en", "es"}, key
        for language in ("en", "es"):
            assert len([p for p in SEED_RED_FLAGS if p.category == key and p.language == language]) >= 4, key
    assert RED_FLAG_CATEGORIES["self_harm"].call[0] == "988"
    assert len(SEED_RED_FLAGS) >= 300


def test_no_red_flag_twice_and_each_matches_itself() -> None:
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for phrase in SEED_RED_FLAGS:
        words = phrase_words(phrase.phrase)
        assert words, phrase
        assert (phrase.language, words) not in seen, (phrase, "same words as", seen.get((phrase.language, words)))
        seen[(phrase.language, words)] = phrase.phrase
        hits = red_flags(phrase.phrase, SEED)
        assert any(h.category == phrase.category for h in hits), (phrase, hits)
        assert red_flags(phrase.phrase, [phrase]), phrase
        assert len(phrase.phrase) <= 200


@pytest.mark.parametrize(
    "text",
    [
        "my bp this morning was 150/95 i already took my pill",  # a reading, not 95 pills
        "i took 500 mg of ibuprofen for my knee",  # a dose
        "me tomo 6 pastillas diarias es normal",  # a regimen
        "my appointment is 10/15 at 2:30 can i take 2 pills before",
        "puedo tomar tylenol con mi anticoagulante",  # not anticongelante
        "la radiografia del pecho del mes pasado salio bien",  # pasado is not pesado
        "mi bebe de 8 meses tiene un poquito de fiebre",  # not a newborn
        "how many tylenol can i take in a day",
        "can i get a refill on my epipen",
        "i took my insulin, my sugar is 140",  # a reading, not 140 pills
        "i have a headache and runny nose",  # nose sounds like noose: no phrase says "have noose"
        "my face is swollen from a tooth infection",  # infection is not injection
        "im going to end up missing my appointment",  # end up is no "end it"
        "i saved my leftover pills from surgery, can i drop them off",  # saved is not stockpiling
        "im spotting between periods, not pregnant",  # spotting is not seeing spots
        "mi bebe nacio hace 2 meses ya le toca la vacuna?",
        "mi bebe tiene 7 meses y le estan saliendo los dientes",  # a baby's 7 months, not a pregnancy's
        "tengo 7 meses con tos, me dan jarabe",  # 7 months of a cough
    ],
)
def test_numbers_and_near_words_raise_no_red_flag(text: str) -> None:
    assert red_flags(text, SEED) == [], (text, red_flags(text, SEED))


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("took like 20 of her seroquel", "overdose"),
        ("se tomó veinte pastillas", "overdose"),
        ("my 3 week old has a fever of 100.8", "newborn"),
        ("mi bebita de un mes esta calientita 38 grados", "newborn"),
        ("mi niña de mes y medio tiene fiebre", "newborn"),
        ("my 6 week old baby is 101 rectal", "newborn"),
        ("my bp is 170/110 and im 35 weeks", "pregnancy"),
        ("pulse ox says 86 and im short of breath", "breathing"),
        ("my oxygen is reading 84 percent", "breathing"),
        ("my 2 year old got into the dishwasher pods", "overdose"),
        ("had the baby 10 days ago and i have a high fever", "pregnancy"),
        ("mi abuelita esta flojita y se cayo", "unconscious"),
        ("my son ate my thc gummies and hes super sleepy", "overdose"),  # "son" after my is a child
        ("my son is not responding", "unconscious"),
        ("mi bebe nacio hace 8 dias y esta frio", "newborn"),  # born 8 days ago: a newborn
        ("tengo 3 dias de parida y tengo fiebre", "pregnancy"),  # postpartum
        ("me alivie hace 5 dias y veo borroso", "pregnancy"),  # me alivié: a birth
        ("la saturacion de mi niño esta en 88", "breathing"),
        ("im going to end it tonight", "self_harm"),
    ],
)
def test_numbers_and_word_forms_raise_red_flags(text: str, category: str) -> None:
    hits = red_flags(text, SEED)
    assert hits and hits[0].category == category, (text, hits)


def test_red_flag_phrase_syntax() -> None:
    phrases = [RedFlagPhrase("en", "(took|swallowed) (many|bunch) {med}", "overdose", id=7)]
    assert red_flags("she swallowed a bunch of xanax", phrases)[0].id == 7
    assert red_flags("took many tylenol", phrases)[0].matched == "took many tylenol"
    assert red_flags("ate many pills", phrases) == []
    several = [RedFlagPhrase("es", "(dispararme|pegarme un tiro)", "self_harm")]
    assert red_flags("quiero pegarme un tiro", several)
    assert red_flags("me duele la cabeza, un tiro de esquina", several) == []  # no alternative is loose words
    assert phrase_words("(took|swallowed) many {med}") == phrase_words("(swallowed|took) many {med}")
    # a Spanish word near an English phrase's goes to the Spanish phrase
    assert [h.language for h in red_flags("mi hijo esta convulsiona", SEED)] == ["es"]
