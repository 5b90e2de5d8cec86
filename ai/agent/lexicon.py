"""How customers phrase each ask, in the languages the helpdesk serves (en, es, fr, de, it, pt).

Patterns match text folded by `ai.agent.when.fold` (lower case, no accents), so one pattern
covers "dirección" and "direccion". Each intent is a list of alternatives joined once; the
order of INTENT_PATTERNS is the tie-break when one sentence matches several intents.
"""

from __future__ import annotations

import re

HUMAN = (
    r"(?:speak|talk|chat|let me talk|put me through|connect me|transfer me|hand me over)\s+(?:to|with)\s+"
    r"(?:a|an|your|the|some)?\s*(?:real\s+|live\s+)?(?:manager|supervisor|human|person|representative|agent|"
    r"someone|operator|people)\b",
    r"\b(?:real|actual|live)\s+(?:human|person|agent)\b",
    r"\bhuman\s+(?:representative|agent|being|support|please)\b",
    r"\b(?:agent|person|representative)\s+please\b",
    r"\btransfer\s+(?:me\s+|this\s+|it\s+)?to\s+(?:a\s+)?(?:human|person|manager|supervisor|representative)\b",
    r"\bnot\s+a\s+bot\b|\bstop\s+the\s+bot\b|\bno\s+more\s+bots?\b|\b(?:get|give)\s+me\s+(?:a\s+)?(?:human|person|agent)\b",
    r"\bescalate\s+(?:this|it)\s+to\b",
    r"\bask(?:s|ing)?\s+(?:for|to\s+(?:speak|talk)\s+(?:to|with))\s+(?:a|an|the|your|some)?\s*"
    r"(?:manager|supervisor|human|person|representative|someone\s+in\s+charge)\b",
    r"\b(?:can|could|may)\s+i\s+(?:get|have|speak\s+to|talk\s+to)\s+(?:a|your|the)\s+(?:manager|supervisor)\b",
    r"\bhablar\s+con\s+(?:una?\s+|el\s+|la\s+)?(?:persona|humano|agente|alguien|responsable|gerente|encargado)\b",
    r"\buna\s+persona\s+real\b",
    r"\bparler\s+(?:a|avec)\s+(?:un|une|quelqu\s*un|le|la|votre)\s*(?:humain|personne|conseiller|conseillere|agent|"
    r"responsable|manager)?\b",
    r"\b(?:un|une)\s+(?:vrai|vraie)\s+(?:humain|personne)\b|\bconseiller\s+humain\b",
    r"\bmit\s+(?:einem|einer|ihrem)\s+(?:menschen|mitarbeiter|mitarbeiterin|person|vorgesetzten|verantwortlichen)"
    r"(?:\s+sprechen)?\b|\bechten\s+menschen\b",
    r"\bparlare\s+con\s+(?:un|una)\s+(?:persona|operatore|responsabile)\b",
    r"\bfalar\s+com\s+(?:um|uma|o|a)\s+(?:pessoa|atendente|humano|gerente)\b",
)
# Whole-message shortcuts: "agent", "human please".
HUMAN_SHORT = frozenset(
    {
        "human",
        "a human",
        "agent",
        "an agent",
        "person",
        "a person",
        "operator",
        "representative",
        "persona",
        "humano",
        "humain",
        "un humain",
        "mensch",
        "help me human",
        "manager",
    }
)
# "if you cannot help, transfer me to a human": the customer's fallback, not an ask.
FALLBACK_BEFORE = r"\b(?:if|unless|in case|otherwise|or else|si|sinon|sonst|falls|wenn)\b[^.!?\n]{0,80}" + (
    r"\b(?:cannot|can't|can not|unable|not able|not possible|doesn't work|does not work|fails?|no pueden|"
    r"ne pouvez pas|nicht moglich|nicht konnen)\b[^.!?\n]{0,60}$"
)

TRACK = (
    r"\bwhere\s+(?:is|are)\s+(?:my|our|the)\s+(?:\w+\s+){0,2}(?:order|package|parcel|stuff|delivery|shipment|"
    r"items?|things|boots|jacket)\b",
    r"\btrack(?:ing)?\b(?!\s+record)",
    r"\b(?:has|have|did)\s+(?:it|they|my\s+(?:\w+\s+){0,2}(?:order|package|parcel))\s+(?:actually\s+|already\s+)?"
    r"(?:shipped|been\s+shipped|left|been\s+sent|been\s+dispatched|arrived)\b",
    r"\bis\s+it\s+(?:actually\s+|already\s+|really\s+)?(?:shipped|on\s+(?:its|the)\s+way|sent)\b",
    r"\bwhere\s+(?:is|are)\s+my\s+\w+|\bwhere\s+my\s+\w+(?:\s+\w+)?\s+(?:is|are)\b|"
    r"\b(?:shipped|sent|dispatched)\s+yet\b|\bis\s+(?:my\s+)?order\b[^.?!]{0,30}\b(?:shipped|sent|on\s+(?:its|the)\s+way)\b",
    r"\bwhen\s+(?:will|would|does|do|is|can)\s+(?:i\s+(?:get|receive)|it|they|my\s+(?:\w+\s+){0,2}"
    r"(?:order|package|parcel|boots|jacket|items?))\b[^.?!]{0,40}\b(?:arrive|arriving|deliver|delivered|ship|"
    r"shipped|come|here|get|expected)",
    r"\b(?:expected|estimated)\s+delivery\b|\bdelivery\s+(?:date|day|status|estimate)\b",
    r"\b(?:hasn't|hasnt|has\s+not|haven't|havent|have\s+not|still\s+not|never|didn't|not)\s+"
    r"(?:yet\s+)?(?:arrived|received|got(?:ten)?|shipped|come|been\s+delivered|showed\s+up|updated)\b",
    r"\b(?:order|package|parcel)\s+(?:status|update)\b|\bstatus\s+of\s+(?:my|the)\s+order\b",
    r"\bany\s+(?:update|news)\s+on\s+(?:my|the)\b|\blabel\s+created\b|\bin\s+transit\b",
    r"\bconfirm\s+(?:the\s+)?delivery\b|\bwhere\s+it\s+is\b|\bwhen\s+(?:it|they)\s+(?:will\s+)?(?:arrive|ship)",
    r"\bdonde\s+esta\s+mi\s+(?:pedido|paquete|envio|compra)\b|\bseguimiento\b",
    r"\bcuando\s+(?:llegara|llega|llegaran|van\s+a\s+enviar|lo\s+van\s+a\s+enviar|enviaran|lo\s+envian|"
    r"se\s+enviara|recibire)\b",
    r"\b(?:todavia|aun)\s+no\s+(?:ha\s+)?(?:llegado|recibido|enviado)\b|\bno\s+(?:me\s+)?ha\s+llegado\b",
    r"\bestado\s+de\s+(?:mi|el)\s+pedido\b",
    r"\bou\s+(?:en\s+)?est\s+ma\s+commande\b|\bou\s+est\s+mon\s+colis\b|\bsuivi\b",
    r"\bquand\s+(?:est-ce\s+que\s+)?(?:ma\s+commande|mon\s+colis|il|elle|vais-je)\b[^.?!]{0,40}"
    r"\b(?:livre|arriv|expedi|recevoir)",
    r"\bpas\s+(?:encore\s+)?(?:recu|arrive|livre|expedie)e?s?\b|\btoujours\s+rien\b",
    r"\bwo\s+(?:ist|bleibt)\s+(?:meine|mein)\s+(?:bestellung|paket|sendung|lieferung)\b",
    r"\bsendungsverfolgung\b|\bsendungsnummer\b|\btrackingnummer\b",
    r"\bwann\s+(?:kommt|wird|wurde|kommen|werden|erhalte)\b[^.?!]{0,50}\b(?:geliefert|versandt|verschickt|"
    r"ankommen|an|zugestellt|erhalten)\b",
    r"\bnoch\s+(?:immer\s+)?nicht\s+(?:angekommen|erhalten|geliefert|versandt|verschickt|da)\b",
    r"\bdov'?\s?e\s+il\s+mio\s+(?:ordine|pacco)\b|\bquando\s+(?:arriva|arrivera|arriveranno|sara\s+spedit[oa])\b|"
    r"\bnon\s+e\s+ancora\s+(?:arrivat[oa]|spedit[oa])\b|\bwo\s+bleibt\b|\bquando\s+chega\b",
    r"\bonde\s+esta\s+(?:o\s+)?meu\s+(?:pedido|pacote)\b|\bainda\s+nao\s+chegou\b|\brastreio\b",
    r"\b(?:ist|sind)\s+(?:meine?\s+|die\s+|der\s+|das\s+)?(?:\w+\s+){0,2}schon\s+(?:raus|unterwegs|versandt|verschickt|"
    r"losgeschickt|abgeschickt)\b|\b(?:ya\s+)?(?:ha\s+sido|fue)\s+enviad[oa]\b|\best-(?:il|elle)\s+(?:deja\s+)?"
    r"(?:partie?|expediee?)\b|\be\s+gia\s+(?:partit[oa]|stat[oa]\s+spedit[oa])\b|\bja\s+foi\s+enviad[oa]\b",
)
REFUND_STATUS = (
    r"\b(?:when|where)\b[^.?!]{0,60}\bmy\s+(?:refund|money)\b",
    r"\b(?:still\s+)?waiting\s+(?:on|for)\s+(?:my|the|a)\s+refund\b|\bhaven'?t\s+(?:seen|got|gotten|received)\s+"
    r"(?:my\s+|the\s+|a\s+)?refund\b|\brefund\s+(?:status|yet)\b",
    r"\b(?:sent|mailed|returned)\s+(?:it|them|the\s+\w+(?:\s+\w+)?)\s+back\b[^.?!]{0,80}\b(?:refund|money)\b",
    r"\bcuando\s+(?:recibire|me\s+devolveran)\s+(?:mi\s+|el\s+)?(?:reembolso|dinero)\b|\besperando\s+(?:mi|el)\s+"
    r"reembolso\b",
    r"\bquand\s+(?:vais-je\s+|serai-je\s+)?(?:recevoir|etre\s+rembourse)\b|\battends?\s+(?:toujours\s+)?mon\s+"
    r"remboursement\b",
    r"\bwann\s+(?:bekomme|erhalte)\s+ich\s+(?:mein\s+geld|die\s+(?:ruckerstattung|erstattung))\b|\bwarte\b[^.?!]{0,40}"
    r"\b(?:erstattung|ruckerstattung|geld)\b",
)
REFUND = (
    r"\brefund\w*\b",
    r"\bmoney\s+back\b|\breimburs\w*\b|\bget\s+my\s+money\b",
    r"\b(?:return|send\s+back)\s+(?:it|them|this|these|the|my|both|one|a|an)\b",
    r"\b(?:want|like|need|wish|trying|going|able|possible|how\s+(?:do|can)\s+i)\s+(?:to\s+)?return\b",
    r"\b(?:can|could|may)\s+i\s+(?:still\s+|just\s+)?(?:return|send\s+(?:it|them|\w+)\s+back)\b",
    r"\breembols\w*\b|\bdevol(?:ver|verlo|verla|verlos|ucion|uciones)\b|\brecuperar\s+(?:mi|el)\s+dinero\b",
    r"\brembours\w*\b|\bretourner\b|\b(?:vous\s+)?(?:le|la|les)\s+renvoyer\b|\bvous\s+renvoyer\b|\bretour\b",
    r"\b(?:ruck)?erstatt\w*\b|\bgeld\s+zuruck\b|\bzuruck(?:senden|schicken|geben)\b|\bretoure\b",
    r"\brimbors\w*\b|\brestituire\b|\breso\b",
    r"\breembolso\b|\bdevolucao\b|\bdevolver\b",
)
# The English words for an item that arrived damaged, shared by the intent patterns here and by
# the asks and planner patterns, so a word added to one list reaches every one of them.
DAMAGE_WORDS = r"damaged|broken|broke|defective|faulty|torn|ripped|cracked"
# A flaw the item came with, in the languages served (folded, whole words): what makes a replacement
# the shop's to send. Not an intent of its own: "a hole in the beanie" says why, the ask says what.
DEFECT_WORDS = (
    r"holes?|stain(?:s|ed)?|peel(?:s|ed|ing)?|leak(?:s|ed|ing|y)?|split\s+seams?|frayed|"
    r"agujeros?|manchas?|manchad[oa]s?|descosid[oa]s?|rasgad[oa]s?|"
    r"trous?|taches?|tachee?s?|dechiree?s?|decousue?s?|"
    r"loch|locher|flecke?n?|gerissen|undicht|lost\s+sich|"
    r"buco|buchi|macchi[ae]|macchiat[oa]|strappat[oa]|scucit[oa]|furos?|buracos?"
)
REPLACE = (
    r"\breplac\w*\b|\bexchange\w*\b|\bswap\b",
    r"\b(?:arrived|came|was|were|is|are)\s+(?:\w+\s+)?(?:damaged|broken|defective|faulty|torn|ripped|cracked|"
    r"scratched|stained|dented)\b",
    rf"\b(?:{DAMAGE_WORDS})\b",
    r"\bsend\s+(?:me\s+)?(?:a\s+new|another|the\s+right|the\s+correct)\s+(?:one|ones|pair|\w+)\b",
    r"\b(?:send|ship)\s+(?:me\s+)?the\s+missing\b|\b(?:only\s+one|one\s+\w+\s+(?:was\s+)?missing|missing\s+from\s+"
    r"(?:the|my)\s+(?:package|parcel|box|order))\b|\bfalta(?:ba)?\s+(?:un|una|el|la)\b|\bmanquai?t\b|\bfehlte?\b",
    r"\b(?:change|swap|switch|modify|upgrade|downgrade)\s+(?:the|my|this|that)\s+(?!(?:shipping\s+|delivery\s+|e-?mail\s+)?"
    r"(?:address|e-?mail|password|phone|appointment|fitting|booking|order\b))\w+(?:\s+\w+)?\s+(?:to|for|into)\b",
    r"\bwrong\s+(?:item|size|colou?r|product|one|pants|shoes|model|order|thing)\b|\bnot\s+what\s+i\s+ordered\b",
    r"\b(?:coming|came|fell)\s+(?:off|apart)\b|\bstopped\s+working\b|\b(?:doesn'?t|won'?t)\s+(?:close|zip|stay\s+closed)\b",
    r"\b(?:different|another|smaller|bigger|larger)\s+size\b|\bsize\s+(?:up|down|smaller|bigger|larger)\b",
    r"\breemplaz\w*\b|\bcambi(?:o|ar|arla|arlo)\s+(?:por|la\s+talla|de\s+talla)\b|\bdanad[oa]s?\b|\broto\b|\brota\b|"
    r"\bdefectuos[oa]\b|\bequivocad[oa]\b|\btalla\s+(?:incorrecta|equivocada)\b",
    r"\bremplac\w*\b|\bechang\w*\b|\babime(?:e|s)?\b|\bcasse(?:e|s)?\b|\bdefectueu[xs]e?\b|\bmauvais(?:e)?\s+"
    r"(?:article|taille|produit|couleur)\b",
    r"\bersatz\w*\b|\bersetz\w*\b|\bumtausch\w*\b|\bbeschadigt\b|\bkaputt\b|\bdefekt\b|\bfalsche[nrs]?\s+"
    r"(?:artikel|grosse|farbe|ware)\b",
    r"\bsostitu\w*\b|\bdanneggiat[oa]\b|\brott[oa]\b|\bsubstitu\w*\b|\bdanificad[oa]\b|\bquebrad[oa]\b",
    r"\b(?:mandar|enviar)(?:me|nos)?\s+(?:otr[oa]|un[ao]?\s+nuev[oa]|el\s+correcto|la\s+correcta)\b|\bmanchad?[oa]?\b|"
    r"\bagujero\b|\brasgad[oa]\b|\bno\s+funciona\b|\bincorrect[oa]\b",
    r"\b(?:envoyer|renvoyer)\s+(?:un\s+autre|une\s+autre|le\s+bon|la\s+bonne)\b|\bm'?\s?en\s+(?:r?envoyer)\b|"
    r"\btache\b|\btrou\b|\bdechire[es]?\b|\bentaille[es]?\b|"
    r"\bne\s+fonctionne\s+(?:pas|plus)\b|\berreur\s+de\s+(?:commande|taille|couleur|produit)\b",
    r"\bneue[sn]?\s+(?:paar|exemplar|ersatz|stuck)\b|\b(?:schicken|senden)\s+sie\s+(?:mir\s+)?(?:bitte\s+)?"
    r"(?:ein|eine|einen)\s+neue|\bein\s+neues\s+paar\b|\bloch\b|\bfleck\b|\bgerissen\b|\bfunktioniert\s+nicht\b",
    r"\b(?:mandar|spedir|invia)(?:mi|e|re)\s+(?:un\s+altr[oa]|la\s+\w+\s+giust[ao]|il\s+\w+\s+giust[ao]|quell[oa]\s+"
    r"giust[oa])\b|\bsbagliat[oa]\b|\bmacchia\b|\bbuco\b|\bdifettos[oa]\b|\bnon\s+funziona\b",
    r"\b(?:enviar|mandar)(?:-me)?\s+(?:outr[oa]|um\s+nov[oa]|o\s+cert[oa])\b|\bpartid[oa]\b|\bfurad[oa]\b|"
    r"\bmanchad[oa]\b|\berrad[oa]\b|\bdefeituos[oa]\b|\bnao\s+funciona\b",
)
CANCEL_APPOINTMENT = (
    r"\bcancel\w*\s+(?:my\s+|the\s+|our\s+)?(?:\w+\s+){0,2}(?:appointment|fitting|booking|session|visit|"
    r"reservation)\b",
    r"\b(?:cancelar|anular)\s+(?:mi\s+|la\s+)?cita\b|\bannuler\s+(?:mon\s+|le\s+)?rendez-vous\b|"
    r"\btermin\s+(?:absagen|stornieren)\b",
)
CANCEL = (
    r"\bcancel\w*\b|\bcall\s+off\b",
    r"\bcancelar\w*\b|\banular\b|\bannul\w*\b|\bstornier\w*\b|\bstorno\b|\babbestellen\b|\bannullare\b",
)
CHANGE_EMAIL = (
    r"\b(?:change|update|switch|correct|replace|new)\b[^.?!]{0,40}\b(?:e-?mail|email\s+address|login\s+email)\b",
    r"\b(?:e-?mail|email\s+address)\b[^.?!]{0,30}\b(?:change|update|switch|wrong|typo)\b",
    r"\bswitching\s+from\s+my\s+old\s+e-?mail\b",
    r"\bcambiar\s+(?:mi\s+|el\s+)?(?:correo|e-?mail)\b|\bnuevo\s+(?:correo|e-?mail)\b",
    r"\b(?:changer|modifier)\s+(?:mon\s+|l'\s?)?(?:adresse\s+)?e-?mail\b|\bnouvel(?:le)?\s+(?:adresse\s+)?e-?mail\b",
    r"\be-?mail(?:-adresse)?\s+(?:andern|aktualisieren)\b|\bneue\s+e-?mail\b",
)
CHANGE_PHONE = (
    r"\b(?:new|change|update)\b[^.?!]{0,30}\bphone\s*(?:number)?\b|\bphone\s+number\b[^.?!]{0,30}\b(?:change|update)\b",
    r"\bnuevo\s+(?:numero\s+de\s+)?telefono\b|\bnouveau\s+numero\b|\bneue\s+telefonnummer\b|\bhandynummer\b",
)
CHANGE_ADDRESS = (
    r"\b(?:change|update|correct|fix|modify|edit)\b[^.?!]{0,40}\b(?:shipping\s+|delivery\s+|postal\s+)?address\b",
    r"\b(?:wrong|old|new|typo\s+in\s+(?:my|the))\s+(?:shipping\s+|delivery\s+)?address\b",
    r"\b(?:ship|send|deliver|redirect)\b(?:\s+[\w#-]+){0,3}?\s+to\b[^.?!]{0,80}\binstead\b",
    r"\b(?:ship|send|deliver)\s+(?:it|them)\s+to\s+\d",
    r"\bgoing\s+to\s+my\s+old\b|\bi\s+(?:have\s+)?moved\b",
    r"\b(?:apartment|apt|flat|unit|house|street|zip|postal|post)\s*(?:number|code|no)?\b[^.?!]{0,30}\bwrong\b|"
    r"\btypo\s+in\s+(?:my|the)\s+address\b|\bwrong\s+(?:apartment|apt|unit|zip|postcode|house\s+number)\b",
    r"\b(?:ancienne|mauvaise)\s+adresse\b|\bla\s+bonne\s+adresse\b|\bdireccion\s+(?:equivocada|incorrecta|antigua|"
    r"vieja)\b|\bla\s+direccion\s+correcta\b|\b(?:alte|falsche)\s+adresse\b|\bist\s+falsch,?\s+richtig\s+ist\b|"
    r"\bindirizzo\s+(?:sbagliato|vecchio)\b|\bmorada\s+(?:errada|antiga)\b",
    r"\bcambiar\s+(?:la\s+)?direccion\b|\bnueva\s+direccion\b|\benviar(?:lo)?\s+a\s+otra\s+direccion\b",
    r"\b(?:changer|modifier)\s+(?:l'\s?)?adresse\s+(?:de\s+livraison)?\b|\bnouvelle\s+adresse\b",
    r"\b(?:liefer)?adresse\b[^.?!]{0,60}\b(?:andern|korrigieren|aktualisieren|anpassen|umleiten)\b|"
    r"\bneue\s+(?:liefer)?adresse\b|\b(?:cambiare|modificare)\s+l'?\s?indirizzo\b|\bmudar\s+(?:a\s+)?morada\b",
    r"\b(?:mio\s+)?nuovo\s+indirizzo\b|\bnova\s+morada\b|\bnovo\s+endereco\b|\bmudar\s+(?:o\s+)?endereco\b",
)
RESET_PASSWORD = (
    r"\b(?:reset|recover|new)\s+(?:my\s+|the\s+|a\s+)?password\b|\bpassword\s+reset\b",
    r"\bforgot\w*\s+(?:my\s+)?(?:password|login)\b|\bforgotten\s+password\b",
    r"\b(?:can'?t|cannot|can\s+not|unable\s+to|couldn'?t|won'?t\s+let\s+me)\s+(?:log|sign)\s*(?:in|into|on)\b|"
    r"\blocked\s+out\b|\baccount\s+(?:is\s+|got\s+)?locked\b",
    r"\breset\s+(?:link|email|e-mail|mail)\b[^.?!]{0,60}\b(?:expired|invalid|never|didn'?t|not|doesn'?t|broken)\b",
    r"\b(?:send|resend)\s+(?:me\s+)?(?:a\s+|another\s+|the\s+)?(?:new\s+)?(?:reset\s+|password\s+)?link\b",
    r"\bpassword\b[^.?!]{0,40}\b(?:not\s+work|doesn'?t\s+work|wrong|incorrect|expired)\b",
    r"\bolvide\s+mi\s+contrasena\b|\brestablecer\s+(?:mi\s+|la\s+)?contrasena\b|\bno\s+puedo\s+(?:iniciar\s+sesion|"
    r"entrar|acceder)\b|\bcuenta\s+(?:esta\s+)?bloqueada\b",
    r"\bmot\s+de\s+passe\s+oublie\b|\breinitialiser\s+(?:mon\s+|le\s+)?mot\s+de\s+passe\b|\bje\s+n'?\s?arrive\s+"
    r"(?:pas|plus)\s+a\s+me\s+connecter\b|\bcompte\s+(?:est\s+)?bloque\b",
    r"\bpasswort\s+(?:vergessen|zurucksetzen)\b|\b(?:kann\s+mich\s+nicht|nicht)\s+(?:mehr\s+)?(?:an|ein)"
    r"(?:melden|loggen)\b|\bkonto\s+(?:ist\s+)?gesperrt\b",
    r"\bsenha\s+esquecida\b|\besqueci\s+(?:a\s+)?(?:minha\s+)?senha\b|\bpassword\s+dimenticata\b",
    r"\bho\s+dimenticato\s+(?:la\s+(?:mia\s+)?)?password\b|\bnon\s+riesco\s+(?:piu\s+)?ad?\s+(?:accedere|entrare|"
    r"fare\s+(?:il\s+)?login)\b|\breimpostare\s+(?:la\s+)?password\b|\bnao\s+consigo\s+(?:entrar|acessar|"
    r"fazer\s+login)\b|\bredefinir\s+(?:a\s+)?(?:minha\s+)?senha\b",
)
RESCHEDULE = (
    r"\b(?:move|reschedule|change|push|shift|postpone)\s+(?:my\s+|the\s+|our\s+)?(?:\w+\s+){0,2}"
    r"(?:appointment|fitting|booking|session|visit|reservation)\b",
    r"\b(?:appointment|fitting|booking|session)\b[^.?!]{0,80}\b(?:move|moved|reschedule|change)\s+(?:it|to)\b",
    r"\bcan\s+(?:we|i|you)\s+(?:move|reschedule|change|push)\s+it\b",
    r"\b(?:cambiar|mover|reprogramar|aplazar)\s+(?:mi\s+|la\s+)?cita\b",
    r"\b(?:deplacer|decaler|reporter|changer)\s+(?:mon\s+|le\s+)?rendez-vous\b",
    r"\btermin\s+(?:verschieben|verlegen|umbuchen|andern)\b|\bverschieben\b",
)
BOOK = (
    r"\b(?:book|schedule|make|set\s+up|arrange|reserve|get)\s+(?:me\s+)?(?:in\s+)?(?:for\s+)?(?:a|an|my|one|the)?\s*"
    r"(?:[\w+&-]+\s+){0,3}(?:appointment|fitting|session|slot|consultation|visit|service|tune-?up|repair|booking|demo|"
    r"call|check|check-?up|inspection|test\s+ride)\b",
    r"\b(?:appointment|fitting|session|slot)\s+(?:for|on|at)\b",
    r"\b(?:get|getting|be)\s+(?:properly\s+|professionally\s+)?fitted\s+for\b|\b(?:book|want|like|need)\s+(?:a\s+)?bike\s+fit\b",
    r"\b(?:reservar|pedir|agendar|solicitar)\s+(?:una?\s+)?(?:cita|hora|sesion|revision|prueba)\b",
    r"\bprenotare\s+(?:un[ao]?\s+)?(?:appuntamento|controllo|revisione|tagliando|prova|visita)\b",
    r"\b(?:voudrais|souhaite|aimerais)\s+(?:un|prendre\s+un)\s+rendez-vous\b|\b(?:quiero|quisiera|necesito)\s+"
    r"(?:una\s+)?cita\b|\b(?:mochte|brauche)\s+(?:einen\s+)?termin\b|\b(?:vorrei|voglio)\s+(?:un\s+)?appuntamento\b|"
    r"\bbook\s+me\s+in\b",
    r"\b(?:prendre|reserver|fixer)\s+(?:un\s+)?(?:rendez-vous|creneau|rdv)\b",
    r"\btermin\s+(?:buchen|vereinbaren|ausmachen|machen|reservieren)\b|\beinen\s+termin\b",
    r"\b(?:prenotare|fissare)\s+(?:un\s+)?appuntamento\b|\bmarcar\s+(?:uma\s+)?(?:consulta|hora)\b",
)
THANKS = (
    r"\bthanks?\b|\bthank\s+you\b|\bcheers\b|\bappreciate\b|\bgracias\b|\bmerci\b|\bdanke\b|\bgrazie\b|\bobrigad[oa]\b",
)
PRAISE = (
    r"\b(?:great|awesome|amazing|love|loved|perfect|excellent|fantastic|wonderful|happy|pleased|keep\s+it\s+up|"
    r"brilliant|superb|lovely|impressed|delighted|thrilled|well\s+done|good\s+job|just\s+(?:wanted\s+to\s+)?"
    r"(?:say\s+)?thanks|"
    r"all\s+good|everything'?s?\s+(?:is\s+)?(?:great|fine|good)|works\s+(?:great|perfectly)|genial|perfecto|"
    r"excelente|parfait|super|genial|toll|prima|perfekt|alles\s+gut)\b",
)
QUESTION_START = (
    r"^(?:do|does|did|can|could|is|are|was|will|would|should|shall|may|might|how|what|when|where|which|why|who|"
    r"any\s+chance|is\s+there|are\s+there)\b",
    r"^(?:puedo|pueden|puede|podria|cuanto|cuanta|cuantos|como|cual|cuales|donde|cuando|hay|es|son|tienen|hacen|"
    r"se\s+puede|que)\b",
    r"^(?:est-ce|puis-je|pouvez|peut-on|comment|combien|quel|quelle|quels|quelles|ou|quand|y\s+a-t-il|"
    r"faites-vous|avez-vous|livrez-vous|acceptez-vous)\b",
    r"^(?:kann|konnen|konnte|wie|was|wann|wo|welche|welcher|welches|gibt\s+es|ist|sind|muss|darf|liefern|habt|"
    r"haben\s+sie)\b",
    r"^(?:posso|potete|quanto|come|quale|dove|quando|c'e|fate)\b|^(?:posso|podem|quanto|como|qual|onde|quando)\b",
)
NEGATION_BEFORE = r"(?:\b(?:not|never|no|don'?t|doesn'?t|no\s+quiero|ne|nicht|kein|nao|non)\b|n't)\s+(?:\w+\s+){0,2}$"


def compile_any(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


HUMAN_RE = compile_any(HUMAN)
FALLBACK_BEFORE_RE = re.compile(FALLBACK_BEFORE)
QUESTION_START_RE = compile_any(QUESTION_START)
NEGATION_BEFORE_RE = re.compile(NEGATION_BEFORE)
THANKS_RE = compile_any(THANKS)
PRAISE_RE = compile_any(PRAISE)

# intent -> pattern, in tie-break order (the more specific first).
INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("refund_status", compile_any(REFUND_STATUS)),
    ("cancel_appointment", compile_any(CANCEL_APPOINTMENT)),
    ("reschedule", compile_any(RESCHEDULE)),
    ("book", compile_any(BOOK)),
    ("reset_password", compile_any(RESET_PASSWORD)),
    ("change_email", compile_any(CHANGE_EMAIL)),
    ("change_phone", compile_any(CHANGE_PHONE)),
    ("change_address", compile_any(CHANGE_ADDRESS)),
    ("cancel", compile_any(CANCEL)),
    ("replace", compile_any(REPLACE)),
    ("refund", compile_any(REFUND)),
    ("track", compile_any(TRACK)),
)

# Questions that restate a request ("can you send me another one?", "what can you do?"): with an
# action ask in the same message, they ask for that action, not for an answer of their own.
REQUEST_QUESTION_RE = re.compile(
    r"^(?:(?:can|could|would|will)\s+(?:you|u|someone|we)\b|(?:please\s+)?(?:what|how)\s+(?:can|could)\s+"
    r"(?:you|we)\s+do\b|is\s+(?:that|this|it)\s+(?:possible|ok|okay)\b|(?:puede|pueden|podrian?|pourriez|pouvez|"
    r"konnen\s+sie|konnten\s+sie|kannst\s+du|potete|potreste|podem|poderiam)\b|que\s+pueden\s+hacer\b|"
    r"how\s+do\s+i\s+(?:get\s+back|do\s+that|proceed)\b)"
)
# Clauses that keep an item out of the ask: "the windbreaker is fine", "the jacket I'm keeping".
KEEP_CLAUSE_RE = re.compile(
    r"\b(?:is|are)\s+(?:fine|ok|okay|perfect|great|good)\b|\bkeep(?:ing)?\b|\bje\s+(?:le|la|les)\s+garde\b|"
    r"\b(?:behalte|behalten)\b|\bme\s+(?:lo|la|los|las)\s+quedo\b|\b(?:tengo|guardo)\b|\besta\s+bien\b|"
    r"\bist\s+(?:gut|okay|in\s+ordnung)\b|\best\s+tres\s+bien\b"
)

# Product nouns in the languages served, to the English word a shop's item names use, so "mi
# chaqueta" finds the "Trailhead Rain Jacket" and "die Regenjacke" too. Folded (no accents).
GLOSSARY = {
    # bikes and gear, across the languages
    "pumpe": "pump",
    "bomba": "pump",
    "pompe": "pump",
    "pompa": "pump",
    "schloss": "lock",
    "candado": "lock",
    "antivol": "lock",
    "lucchetto": "lock",
    "cadeado": "lock",
    "reifen": "tire",
    "neumatico": "tire",
    "pneu": "tire",
    "pneumatico": "tire",
    "pneus": "tire",
    "schlauch": "tube",
    "camara": "tube",
    "chambre": "tube",
    "camera": "tube",
    "lampe": "lamp",
    "licht": "light",
    "luz": "light",
    "lumiere": "light",
    "luce": "light",
    "luzes": "light",
    "sattel": "saddle",
    "sillin": "saddle",
    "selle": "saddle",
    "sella": "saddle",
    "selim": "saddle",
    "kette": "chain",
    "cadena": "chain",
    "chaine": "chain",
    "catena": "chain",
    "corrente": "chain",
    "bremse": "brake",
    "freno": "brake",
    "frein": "brake",
    "travao": "brake",
    "trikot": "jersey",
    "maillot": "jersey",
    "maglia": "jersey",
    "camisola": "jersey",
    "handschuh": "glove",
    "guante": "glove",
    "gant": "glove",
    "guanto": "glove",
    "luva": "glove",
    "luvas": "glove",
    "tasche": "bag",
    "taschen": "bag",
    "bolsa": "bag",
    "sacoche": "bag",
    "sacoches": "bag",
    "borsa": "bag",
    "flasche": "bottle",
    "trinkflasche": "bottle",
    "bidon": "bottle",
    "botella": "bottle",
    "borraccia": "bottle",
    "garrafa": "bottle",
    "rucksacke": "pack",
    "sacs": "pack",
    # es
    "chaqueta": "jacket",
    "chaquetas": "jacket",
    "abrigo": "jacket",
    "cazadora": "jacket",
    "chubasquero": "jacket",
    "pantalon": "pant",
    "pantalones": "pant",
    "botas": "boot",
    "bota": "boot",
    "calcetines": "sock",
    "camiseta": "shirt",
    "camisa": "shirt",
    "gorro": "beanie",
    "chaleco": "vest",
    "forro": "fleece",
    "polar": "fleece",
    "mochila": "pack",
    "guantes": "glove",
    "zapatillas": "shoe",
    "zapatos": "shoe",
    "tienda": "tent",
    "saco": "bag",
    "bicicleta": "bike",
    "casco": "helmet",
    # fr
    "veste": "jacket",
    "blouson": "jacket",
    "doudoune": "vest",
    "chaussures": "shoe",
    "chaussettes": "sock",
    "chemise": "shirt",
    "bonnet": "beanie",
    "gilet": "vest",
    "polaire": "fleece",
    "sac": "pack",
    "gants": "glove",
    "tente": "tent",
    "velo": "bike",
    "casque": "helmet",
    "short": "short",
    # de
    "jacke": "jacket",
    "regenjacke": "jacket",
    "hose": "pant",
    "wanderhose": "pant",
    "stiefel": "boot",
    "wanderschuhe": "boot",
    "schuhe": "shoe",
    "socken": "sock",
    "hemd": "shirt",
    "mutze": "beanie",
    "weste": "vest",
    "daunenweste": "vest",
    "rucksack": "pack",
    "handschuhe": "glove",
    "zelt": "tent",
    "fahrrad": "bike",
    "helm": "helmet",
    # it / pt
    "giacca": "jacket",
    "giubbotto": "jacket",
    "scarponi": "boot",
    "calze": "sock",
    "maglietta": "shirt",
    "casaco": "jacket",
    "jaqueta": "jacket",
    "calcas": "pant",
    "meias": "sock",
}

# A greeting (and maybe a name) before the first sentence of a message: "Bonjour, combien ...".
GREETING_RE = re.compile(
    r"^(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|hola|buenos\s+dias|buenas(?:\s+tardes)?|bonjour|"
    r"bonsoir|salut|hallo|guten\s+(?:tag|morgen|abend)|moin|servus|ciao|salve|buongiorno|buonasera|ola|bom\s+dia|"
    r"boa\s+(?:tarde|noite))\b[^,.!?\n]{0,30}[,.!]?\s*"
)
# Returns of items the customer says were used or worn: the policy takes unused items back only.
USED_RE = re.compile(
    r"(?<!\bnot\s)(?<!\bnever\s)(?<!\bnie\s)(?<!\bnunca\s)(?<!\bmai\s)"
    r"\b(?:worn\s+(?:it|them|outside|twice|several|a\s+few|for|on)|wore\s+(?:it|them)|washed\s+(?:it|them)|"
    r"used\s+(?:it|them)\s+(?:\w+\s+){0,3}(?:twice|times|days|weeks|outside|for|on)|(?:zweimal|mehrmals|oft)\s+"
    r"(?:\w+\s+){0,3}(?:getragen|benutzt|gefahren)|draussen\s+(?:\w+\s+){0,3}getragen|gewaschen|"
    r"(?:usad[oa]s?|usat[oa]|usei)\s+(?:\w+\s+){0,3}(?:dos|due|duas|varias|volte|veces|vezes)|lavad[oa]s?|lavat[oa]|"
    r"(?:porte[es]?|utilise[es]?)\s+(?:\w+\s+){0,3}(?:deux|plusieurs)\s+fois|lave[es]?\s+(?:a|en)\s+machine)\b"
)

# The customer reports something that went wrong ("the mail never came", "nothing arrived"): an
# answer that only repeats the status leaves them where they were more often than not.
TROUBLE_RE = re.compile(
    r"\b(?:never|nothing|didn'?t|did\s+not|hasn'?t|has\s+not|not\s+(?:received|arrived|working)|still\s+(?:no|not|nothing)|"
    r"wrong|problem|issue|error|fehler\w*|erreur|errore|erro|nunca|nada|todavia\s+no|no\s+(?:me\s+)?(?:llega|ha\s+llegado|funciona)|jamais|rien|"
    r"toujours\s+pas|ne\s+(?:recois|marche|fonctionne)\s+pas|nie|nichts|noch\s+(?:immer\s+)?(?:nicht|kein)|"
    r"funktioniert\s+nicht|mai|niente|ancora\s+(?:non|nulla)|non\s+(?:funziona|arriva)|nunca|ainda\s+nao|nao\s+chegou)\b"
)

# A change of the product itself (another size, colour or model), not a like-for-like replacement
# of a damaged or wrong item: no tool does that; a person arranges the exchange.
VARIANT_RE = re.compile(
    r"\b(?:too\s+(?:small|big|large|tight|loose|short|long)|(?:a|one)\s+size\s+(?:up|down|smaller|bigger|larger)|"
    r"(?:want|need|prefer|like)\s+(?:a\s+|the\s+)?(?:medium|large|small|smaller|bigger|larger|size\s+\w+|"
    r"another\s+(?:size|colou?r)|a\s+different\s+(?:size|colou?r|model))|different\s+(?:size|colou?r|model|version)|"
    r"(?:exchange|swap|switch)\s+(?:it|them|\w+)\s+(?:for|to)\s+(?:a|an|the|one)\b|cheapest|"
    r"(?:demasiado|muy)\s+(?:pequen|grande)\w*|otra\s+talla|trop\s+(?:petit|grand)e?s?|autre\s+taille|"
    r"zu\s+(?:klein|gross)|andere\s+grosse|troppo\s+(?:piccol|grand)\w*|altra\s+taglia|outro\s+tamanho)\b"
)
