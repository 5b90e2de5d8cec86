"""Everything the local Agent writes itself, in the customer's language (en, es, fr, de, it, pt).

Sentences carry placeholders filled from tool results and the asks' details only, so a local reply
states nothing a source does not. Dates, times and amounts are formatted for the language with
Babel; order status words are translated, never left as the shop's English field values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_currency

LANGUAGES = ("en", "es", "fr", "de", "it", "pt")

T: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "Hi {name},",
        "es": "Hola {name}:",
        "fr": "Bonjour {name},",
        "de": "Hallo {name},",
        "it": "Ciao {name},",
        "pt": "Olá {name},",
    },
    "greeting_anon": {"en": "Hello,", "es": "Hola:", "fr": "Bonjour,", "de": "Hallo,", "it": "Ciao,", "pt": "Olá,"},
    "closing": {
        "en": "Best regards,\n{team}",
        "es": "Un saludo,\n{team}",
        "fr": "Cordialement,\n{team}",
        "de": "Viele Grüße,\n{team}",
        "it": "Cordiali saluti,\n{team}",
        "pt": "Atenciosamente,\n{team}",
    },
    "team": {
        "en": "{name} support",
        "es": "Soporte de {name}",
        "fr": "Support {name}",
        "de": "{name} Support",
        "it": "Assistenza {name}",
        "pt": "Suporte {name}",
    },
    # Order status (lookup_order)
    "track_shipped": {
        "en": "Your order {order} shipped on {shipped} with {carrier}; the tracking number is {tracking}.",
        "es": "Su pedido {order} se envió el {shipped} con {carrier}; el número de seguimiento es {tracking}.",
        "fr": "Votre commande {order} a été expédiée le {shipped} avec {carrier} ; le numéro de suivi est {tracking}.",
        "de": "Ihre Bestellung {order} wurde am {shipped} mit {carrier} versandt; die Sendungsnummer ist {tracking}.",
        "it": "Il suo ordine {order} è stato spedito il {shipped} con {carrier}; il numero di tracciamento è "
        "{tracking}.",
        "pt": "O seu pedido {order} foi enviado em {shipped} com a {carrier}; o código de rastreio é {tracking}.",
    },
    "track_shipped_plain": {
        "en": "Your order {order} shipped on {shipped}.",
        "es": "Su pedido {order} se envió el {shipped}.",
        "fr": "Votre commande {order} a été expédiée le {shipped}.",
        "de": "Ihre Bestellung {order} wurde am {shipped} versandt.",
        "it": "Il suo ordine {order} è stato spedito il {shipped}.",
        "pt": "O seu pedido {order} foi enviado em {shipped}.",
    },
    "track_delivered": {
        "en": "Your order {order} was delivered on {delivered}.",
        "es": "Su pedido {order} se entregó el {delivered}.",
        "fr": "Votre commande {order} a été livrée le {delivered}.",
        "de": "Ihre Bestellung {order} wurde am {delivered} zugestellt.",
        "it": "Il suo ordine {order} è stato consegnato il {delivered}.",
        "pt": "O seu pedido {order} foi entregue em {delivered}.",
    },
    "track_delivered_by": {
        "en": "{carrier} delivered it; the tracking number is {tracking}.",
        "es": "Lo entregó {carrier}; el número de seguimiento es {tracking}.",
        "fr": "Elle a été livrée par {carrier} ; le numéro de suivi est {tracking}.",
        "de": "Zugestellt hat {carrier}; die Sendungsnummer ist {tracking}.",
        "it": "L'ha consegnato {carrier}; il numero di tracciamento è {tracking}.",
        "pt": "Foi entregue pela {carrier}; o código de rastreio é {tracking}.",
    },
    "track_processing": {
        "en": "Your order {order} is being prepared at our warehouse and has not shipped yet; you will get the "
        "tracking number by email as soon as it leaves.",
        "es": "Su pedido {order} se está preparando en nuestro almacén y todavía no se ha enviado; recibirá el "
        "número de seguimiento por correo en cuanto salga.",
        "fr": "Votre commande {order} est en cours de préparation dans notre entrepôt et n'a pas encore été "
        "expédiée ; vous recevrez le numéro de suivi par e-mail dès son départ.",
        "de": "Ihre Bestellung {order} wird in unserem Lager vorbereitet und ist noch nicht versandt; Sie erhalten "
        "die Sendungsnummer per E-Mail, sobald sie unterwegs ist.",
        "it": "Il suo ordine {order} è in preparazione nel nostro magazzino e non è ancora stato spedito; riceverà "
        "il numero di tracciamento via email appena partirà.",
        "pt": "O seu pedido {order} está a ser preparado no nosso armazém e ainda não foi enviado; receberá o "
        "código de rastreio por email assim que sair.",
    },
    "track_pending": {
        "en": "Your order {order} (placed on {placed}) is pending: we have received it and it has not shipped yet.",
        "es": "Su pedido {order} (realizado el {placed}) está pendiente: lo hemos recibido y todavía no se ha enviado.",
        "fr": "Votre commande {order} (passée le {placed}) est en attente : nous l'avons bien reçue et elle n'a pas "
        "encore été expédiée.",
        "de": "Ihre Bestellung {order} (aufgegeben am {placed}) ist ausstehend: Wir haben sie erhalten, sie ist noch "
        "nicht versandt.",
        "it": "Il suo ordine {order} (effettuato il {placed}) è in attesa: l'abbiamo ricevuto e non è ancora stato "
        "spedito.",
        "pt": "O seu pedido {order} (feito em {placed}) está pendente: recebemo-lo e ainda não foi enviado.",
    },
    "track_cancelled": {
        "en": "Your order {order} was cancelled.",
        "es": "Su pedido {order} fue cancelado.",
        "fr": "Votre commande {order} a été annulée.",
        "de": "Ihre Bestellung {order} wurde storniert.",
        "it": "Il suo ordine {order} è stato annullato.",
        "pt": "O seu pedido {order} foi cancelado.",
    },
    "track_returned": {
        "en": "Your order {order} has been returned to us.",
        "es": "Su pedido {order} nos ha sido devuelto.",
        "fr": "Votre commande {order} nous a été retournée.",
        "de": "Ihre Bestellung {order} ist an uns zurückgegangen.",
        "it": "Il suo ordine {order} ci è stato restituito.",
        "pt": "O seu pedido {order} foi-nos devolvido.",
    },
    "track_other": {
        "en": "The status of your order {order} is: {status}.",
        "es": "El estado de su pedido {order} es: {status}.",
        "fr": "Le statut de votre commande {order} est : {status}.",
        "de": "Der Status Ihrer Bestellung {order} ist: {status}.",
        "it": "Lo stato del suo ordine {order} è: {status}.",
        "pt": "O estado do seu pedido {order} é: {status}.",
    },
    "refunded_so_far": {
        "en": "We refunded {amount} on order {order}; it goes back to your original payment method.",
        "es": "Hemos reembolsado {amount} del pedido {order}; se devuelve al método de pago original.",
        "fr": "Nous avons remboursé {amount} sur la commande {order} ; le montant revient sur votre moyen de "
        "paiement d'origine.",
        "de": "Wir haben {amount} für die Bestellung {order} erstattet; der Betrag geht auf Ihr ursprüngliches "
        "Zahlungsmittel zurück.",
        "it": "Abbiamo rimborsato {amount} sull'ordine {order}; l'importo torna sul metodo di pagamento originale.",
        "pt": "Reembolsámos {amount} da encomenda {order}; o valor volta para o método de pagamento original.",
    },
    "not_refunded_yet": {
        "en": "We have not issued a refund on order {order} yet.",
        "es": "Todavía no hemos emitido ningún reembolso del pedido {order}.",
        "fr": "Nous n'avons pas encore émis de remboursement pour la commande {order}.",
        "de": "Für die Bestellung {order} haben wir noch keine Erstattung ausgelöst.",
        "it": "Non abbiamo ancora emesso un rimborso per l'ordine {order}.",
        "pt": "Ainda não emitimos nenhum reembolso da encomenda {order}.",
    },
    "return_after_delivery": {
        "en": "As it is already on its way, I can't cancel or refund it yet; once it has arrived, you can return it "
        "within {days} days for a refund to your original payment method.",
        "es": "Como ya está en camino, todavía no puedo cancelarlo ni reembolsarlo; cuando llegue, puede devolverlo "
        "en un plazo de {days} días y le reembolsaremos en su método de pago original.",
        "fr": "Comme elle est déjà en route, je ne peux pas encore l'annuler ni la rembourser ; une fois arrivée, vous "
        "pourrez la retourner sous {days} jours pour un remboursement sur votre moyen de paiement d'origine.",
        "de": "Da sie schon unterwegs ist, kann ich sie noch nicht stornieren oder erstatten; sobald sie angekommen "
        "ist, können Sie sie innerhalb von {days} Tagen zurücksenden und erhalten eine Erstattung auf Ihr "
        "ursprüngliches Zahlungsmittel.",
        "it": "Poiché è già in viaggio, non posso ancora annullarlo né rimborsarlo; una volta arrivato, può "
        "restituirlo entro {days} giorni per un rimborso sul metodo di pagamento originale.",
        "pt": "Como já está a caminho, ainda não o posso cancelar nem reembolsar; quando chegar, pode devolvê-lo no "
        "prazo de {days} dias para um reembolso no método de pagamento original.",
    },
    "return_window": {
        "en": "It has already been delivered, so it can no longer be cancelled; you can return it within {days} days "
        "after delivery for a refund to your original payment method.",
        "es": "Ya se ha entregado, así que no se puede cancelar; puede devolverlo en un plazo de {days} días desde la "
        "entrega y le reembolsaremos en su método de pago original.",
        "fr": "Elle a déjà été livrée et ne peut plus être annulée ; vous pouvez la retourner sous {days} jours après "
        "la livraison pour un remboursement sur votre moyen de paiement d'origine.",
        "de": "Sie wurde bereits zugestellt und kann nicht mehr storniert werden; Sie können sie innerhalb von {days} "
        "Tagen nach der Zustellung zurücksenden und erhalten eine Erstattung auf Ihr ursprüngliches Zahlungsmittel.",
        "it": "È già stato consegnato e non può più essere annullato; può restituirlo entro {days} giorni dalla "
        "consegna per un rimborso sul metodo di pagamento originale.",
        "pt": "Já foi entregue e não pode ser cancelado; pode devolvê-lo no prazo de {days} dias após a entrega para "
        "um reembolso no método de pagamento original.",
    },
    "not_refundable": {
        "en": "{items}: final-sale items and gift cards are not refundable, so they are not part of the refund.",
        "es": "{items}: los artículos de venta final y las tarjetas regalo no son reembolsables, así que no entran en "
        "el reembolso.",
        "fr": "{items} : les articles en vente finale et les cartes cadeaux ne sont pas remboursables ; ils ne font "
        "pas partie du remboursement.",
        "de": "{items}: Artikel aus dem Endverkauf und Geschenkkarten sind nicht erstattungsfähig und daher nicht "
        "Teil der Erstattung.",
        "it": "{items}: gli articoli in saldo finale e le carte regalo non sono rimborsabili, quindi non rientrano nel "
        "rimborso.",
        "pt": "{items}: artigos de venda final e cartões-presente não são reembolsáveis, por isso não entram no "
        "reembolso.",
    },
    "return_fee": {
        "en": "That is the price of the returned items minus the {fee} return-label fee for returns from your country.",
        "es": "Es el precio de los artículos devueltos menos {fee} de la etiqueta de devolución desde su país.",
        "fr": "C'est le prix des articles retournés moins {fee} pour l'étiquette de retour depuis votre pays.",
        "de": "Das ist der Preis der zurückgesandten Artikel abzüglich {fee} für das Rücksendeetikett aus Ihrem Land.",
        "it": "È il prezzo degli articoli restituiti meno {fee} per l'etichetta di reso dal suo paese.",
        "pt": "É o preço dos artigos devolvidos menos {fee} da etiqueta de devolução a partir do seu país.",
    },
    # Actions done
    "done_issue_refund": {
        "en": "I've refunded {amount} for order {order} to your original payment method.",
        "es": "He reembolsado {amount} del pedido {order} a su método de pago original.",
        "fr": "J'ai remboursé {amount} pour la commande {order} sur votre moyen de paiement d'origine.",
        "de": "Ich habe {amount} für die Bestellung {order} auf Ihr ursprüngliches Zahlungsmittel erstattet.",
        "it": "Ho rimborsato {amount} per l'ordine {order} sul metodo di pagamento originale.",
        "pt": "Reembolsei {amount} da encomenda {order} para o método de pagamento original.",
    },
    "queued_issue_refund": {
        "en": "I've passed your refund of {amount} for order {order} to a team lead for approval; you will get "
        "a confirmation by email once it is approved.",
        "es": "He enviado su reembolso de {amount} del pedido {order} a un responsable para su aprobación; "
        "recibirá una confirmación por correo en cuanto se apruebe.",
        "fr": "J'ai transmis votre remboursement de {amount} pour la commande {order} à un responsable pour "
        "validation ; vous recevrez une confirmation par e-mail dès qu'il sera approuvé.",
        "de": "Ich habe Ihre Erstattung von {amount} für die Bestellung {order} einer Teamleitung zur Freigabe "
        "vorgelegt; Sie erhalten eine Bestätigung per E-Mail, sobald sie freigegeben ist.",
        "it": "Ho inoltrato il suo rimborso di {amount} per l'ordine {order} a un responsabile per "
        "l'approvazione; riceverà una conferma via email appena approvato.",
        "pt": "Enviei o seu reembolso de {amount} da encomenda {order} a um responsável para aprovação; receberá "
        "uma confirmação por email assim que for aprovado.",
    },
    "queued_generic": {
        "en": "I've passed your request to a team lead for approval; you will hear from us as soon as it is approved.",
        "es": "He enviado su solicitud a un responsable para su aprobación; le escribiremos en cuanto se apruebe.",
        "fr": "J'ai transmis votre demande à un responsable pour validation ; nous reviendrons vers vous dès "
        "qu'elle sera approuvée.",
        "de": "Ich habe Ihre Anfrage einer Teamleitung zur Freigabe vorgelegt; wir melden uns, sobald sie "
        "freigegeben ist.",
        "it": "Ho inoltrato la sua richiesta a un responsabile per l'approvazione; le scriveremo appena approvata.",
        "pt": "Enviei o seu pedido a um responsável para aprovação; entraremos em contacto assim que for aprovado.",
    },
    "done_create_replacement": {
        "en": "I've arranged a replacement for {items} from order {order}.",
        "es": "He gestionado la sustitución de {items} del pedido {order}.",
        "fr": "J'ai organisé le remplacement de {items} de la commande {order}.",
        "de": "Ich habe einen Ersatz für {items} aus der Bestellung {order} veranlasst.",
        "it": "Ho organizzato la sostituzione di {items} dell'ordine {order}.",
        "pt": "Tratei da substituição de {items} da encomenda {order}.",
    },
    "done_cancel_order": {
        "en": "I've cancelled your order {order}; you will not be charged for it.",
        "es": "He cancelado su pedido {order}; no se le cobrará.",
        "fr": "J'ai annulé votre commande {order} ; elle ne vous sera pas facturée.",
        "de": "Ich habe Ihre Bestellung {order} storniert; sie wird Ihnen nicht berechnet.",
        "it": "Ho annullato il suo ordine {order}; non le verrà addebitato.",
        "pt": "Cancelei o seu pedido {order}; não lhe será cobrado.",
    },
    "done_update_shipping_address": {
        "en": "I've changed the shipping address of order {order} to: {address}.",
        "es": "He cambiado la dirección de envío del pedido {order} a: {address}.",
        "fr": "J'ai modifié l'adresse de livraison de la commande {order} : {address}.",
        "de": "Ich habe die Lieferadresse der Bestellung {order} geändert auf: {address}.",
        "it": "Ho cambiato l'indirizzo di spedizione dell'ordine {order} in: {address}.",
        "pt": "Alterei a morada de entrega da encomenda {order} para: {address}.",
    },
    "done_request_email_change": {
        "en": "I've started the change of your account email to {new_email}; please confirm it from the "
        "message we sent to your current address.",
        "es": "He iniciado el cambio del correo de su cuenta a {new_email}; confírmelo desde el mensaje que "
        "enviamos a su dirección actual.",
        "fr": "J'ai lancé le changement de l'e-mail de votre compte vers {new_email} ; veuillez le confirmer "
        "depuis le message envoyé à votre adresse actuelle.",
        "de": "Ich habe die Änderung Ihrer Konto-E-Mail auf {new_email} angestoßen; bitte bestätigen Sie sie "
        "über die Nachricht an Ihre bisherige Adresse.",
        "it": "Ho avviato il cambio dell'email del suo account in {new_email}; lo confermi dal messaggio inviato "
        "al suo indirizzo attuale.",
        "pt": "Iniciei a alteração do email da sua conta para {new_email}; confirme-a na mensagem que enviámos "
        "para o seu endereço atual.",
    },
    "done_send_password_reset": {
        "en": "I've sent a new password reset link to {email}.",
        "es": "He enviado un nuevo enlace para restablecer la contraseña a {email}.",
        "fr": "Je vous ai envoyé un nouveau lien de réinitialisation du mot de passe à {email}.",
        "de": "Ich habe einen neuen Link zum Zurücksetzen des Passworts an {email} gesendet.",
        "it": "Ho inviato un nuovo link per reimpostare la password a {email}.",
        "pt": "Enviei um novo link para redefinir a palavra-passe para {email}.",
    },
    "done_book_appointment": {
        "en": "I've booked your {topic} for {date} at {time}.",
        "es": "He reservado su cita ({topic}) para el {date} a las {time}.",
        "fr": "J'ai réservé votre rendez-vous ({topic}) le {date} à {time}.",
        "de": "Ich habe Ihren Termin ({topic}) für {date} um {time} gebucht.",
        "it": "Ho prenotato il suo appuntamento ({topic}) per il {date} alle {time}.",
        "pt": "Marquei a sua marcação ({topic}) para {date} às {time}.",
    },
    "done_book_appointment_plain": {
        "en": "I've booked your appointment for {date} at {time}.",
        "es": "He reservado su cita para el {date} a las {time}.",
        "fr": "J'ai réservé votre rendez-vous le {date} à {time}.",
        "de": "Ich habe Ihren Termin für {date} um {time} gebucht.",
        "it": "Ho prenotato il suo appuntamento per il {date} alle {time}.",
        "pt": "Marquei a sua marcação para {date} às {time}.",
    },
    "done_reschedule_plain": {
        "en": "I've moved your appointment to {date} at {time}.",
        "es": "He cambiado su cita al {date} a las {time}.",
        "fr": "J'ai déplacé votre rendez-vous au {date} à {time}.",
        "de": "Ich habe Ihren Termin auf {date} um {time} verschoben.",
        "it": "Ho spostato il suo appuntamento al {date} alle {time}.",
        "pt": "Mudei a sua marcação para {date} às {time}.",
    },
    "done_reschedule": {
        "en": "I've moved your {topic} to {date} at {time}.",
        "es": "He cambiado su cita ({topic}) al {date} a las {time}.",
        "fr": "J'ai déplacé votre rendez-vous ({topic}) au {date} à {time}.",
        "de": "Ich habe Ihren Termin ({topic}) auf {date} um {time} verschoben.",
        "it": "Ho spostato il suo appuntamento ({topic}) al {date} alle {time}.",
        "pt": "Mudei a sua marcação ({topic}) para {date} às {time}.",
    },
    "reference": {
        "en": "Your reference is {code}.",
        "es": "Su referencia es {code}.",
        "fr": "Votre référence est {code}.",
        "de": "Ihre Referenz lautet {code}.",
        "it": "Il suo riferimento è {code}.",
        "pt": "A sua referência é {code}.",
    },
    # What we need from the customer
    "missing_order": {
        "en": "Could you send me the number of the order this is about? I can see more than one order on your account.",
        "es": "¿Podría indicarme el número del pedido al que se refiere? Veo más de un pedido en su cuenta.",
        "fr": "Pourriez-vous m'indiquer le numéro de la commande concernée ? Je vois plusieurs commandes sur "
        "votre compte.",
        "de": "Könnten Sie mir die Nummer der betreffenden Bestellung schicken? Ich sehe mehrere Bestellungen in "
        "Ihrem Konto.",
        "it": "Potrebbe indicarmi il numero dell'ordine interessato? Vedo più di un ordine sul suo account.",
        "pt": "Pode indicar-me o número da encomenda em causa? Vejo mais do que uma encomenda na sua conta.",
    },
    "missing_order_none": {
        "en": "Could you send me your order number? I could not find an order under this email address.",
        "es": "¿Podría enviarme su número de pedido? No encuentro ningún pedido con esta dirección de correo.",
        "fr": "Pourriez-vous m'envoyer votre numéro de commande ? Je ne trouve aucune commande avec cette "
        "adresse e-mail.",
        "de": "Könnten Sie mir Ihre Bestellnummer schicken? Unter dieser E-Mail-Adresse finde ich keine Bestellung.",
        "it": "Potrebbe inviarmi il numero d'ordine? Non trovo ordini con questo indirizzo email.",
        "pt": "Pode enviar-me o número da encomenda? Não encontro encomendas com este email.",
    },
    "order_not_found": {
        "en": "I could not find an order {number} under your email address. Could you check the number?",
        "es": "No encuentro ningún pedido {number} asociado a su correo. ¿Podría comprobar el número?",
        "fr": "Je ne trouve pas de commande {number} associée à votre adresse e-mail. Pourriez-vous vérifier "
        "le numéro ?",
        "de": "Unter Ihrer E-Mail-Adresse finde ich keine Bestellung {number}. Könnten Sie die Nummer prüfen?",
        "it": "Non trovo l'ordine {number} associato al suo indirizzo email. Può verificare il numero?",
        "pt": "Não encontro a encomenda {number} associada ao seu email. Pode verificar o número?",
    },
    "missing_address": {
        "en": "Could you send me the full new shipping address, including the postcode?",
        "es": "¿Podría enviarme la nueva dirección de envío completa, con el código postal?",
        "fr": "Pourriez-vous m'envoyer la nouvelle adresse de livraison complète, avec le code postal ?",
        "de": "Könnten Sie mir die vollständige neue Lieferadresse mit Postleitzahl schicken?",
        "it": "Potrebbe inviarmi il nuovo indirizzo di spedizione completo, con il CAP?",
        "pt": "Pode enviar-me a nova morada de entrega completa, com o código postal?",
    },
    "missing_new_email": {
        "en": "Which email address should your account use from now on?",
        "es": "¿Qué dirección de correo debe usar su cuenta a partir de ahora?",
        "fr": "Quelle adresse e-mail votre compte doit-il utiliser désormais ?",
        "de": "Welche E-Mail-Adresse soll Ihr Konto künftig verwenden?",
        "it": "Quale indirizzo email deve usare d'ora in poi il suo account?",
        "pt": "Que endereço de email deve a sua conta usar a partir de agora?",
    },
    "missing_date": {
        "en": "Which day and time would suit you?",
        "es": "¿Qué día y hora le vendrían bien?",
        "fr": "Quel jour et quelle heure vous conviendraient ?",
        "de": "Welcher Tag und welche Uhrzeit würden Ihnen passen?",
        "it": "Quale giorno e orario le andrebbero bene?",
        "pt": "Que dia e hora lhe dariam jeito?",
    },
    "missing_time": {
        "en": "What time on {date} would suit you?",
        "es": "¿A qué hora del {date} le vendría bien?",
        "fr": "À quelle heure le {date} cela vous conviendrait-il ?",
        "de": "Welche Uhrzeit am {date} würde Ihnen passen?",
        "it": "A che ora del {date} le andrebbe bene?",
        "pt": "A que horas no dia {date} lhe daria jeito?",
    },
    "missing_items": {
        "en": "Which item from order {order} is affected?",
        "es": "¿Qué artículo del pedido {order} está afectado?",
        "fr": "Quel article de la commande {order} est concerné ?",
        "de": "Welcher Artikel aus der Bestellung {order} ist betroffen?",
        "it": "Quale articolo dell'ordine {order} è interessato?",
        "pt": "Qual o artigo da encomenda {order} em causa?",
    },
    # A person takes over
    "person": {
        "en": "A member of our team will look into this personally and get back to you.",
        "es": "Una persona de nuestro equipo revisará su caso personalmente y le responderá.",
        "fr": "Un membre de notre équipe va examiner votre demande personnellement et vous répondre.",
        "de": "Ein Mitglied unseres Teams kümmert sich persönlich darum und meldet sich bei Ihnen.",
        "it": "Un membro del nostro team se ne occuperà personalmente e le risponderà.",
        "pt": "Um membro da nossa equipa vai analisar o seu pedido pessoalmente e responder-lhe.",
    },
    "policy": {
        "en": "I'm sorry: {reason}.",
        "es": "Lo siento: {reason}.",
        "fr": "Je suis désolé : {reason}.",
        "de": "Es tut mir leid: {reason}.",
        "it": "Mi dispiace: {reason}.",
        "pt": "Lamento: {reason}.",
    },
    "verify": {
        "en": "To protect your account, please confirm it's you with the link we have sent to the email address "
        "on your account; I'll take care of the rest as soon as you have clicked it.",
        "es": "Para proteger su cuenta, confirme que es usted con el enlace que hemos enviado a la dirección de "
        "correo de su cuenta; me encargaré del resto en cuanto haga clic.",
        "fr": "Pour protéger votre compte, confirmez qu'il s'agit bien de vous avec le lien envoyé à l'adresse "
        "e-mail de votre compte ; je m'occupe du reste dès que vous aurez cliqué.",
        "de": "Zum Schutz Ihres Kontos bestätigen Sie bitte über den Link, den wir an die E-Mail-Adresse Ihres "
        "Kontos gesendet haben, dass Sie es sind; um den Rest kümmere ich mich, sobald Sie geklickt haben.",
        "it": "Per proteggere il suo account, confermi la sua identità con il link inviato all'indirizzo email "
        "dell'account; al resto penso io appena avrà cliccato.",
        "pt": "Para proteger a sua conta, confirme que é você com o link enviado para o email da conta; trato do "
        "resto assim que clicar.",
    },
    "thanks": {
        "en": "Thank you so much for taking the time to write to us. We're really glad to hear it!",
        "es": "Muchas gracias por tomarse el tiempo de escribirnos. ¡Nos alegra mucho saberlo!",
        "fr": "Merci beaucoup d'avoir pris le temps de nous écrire. Nous sommes ravis de l'apprendre !",
        "de": "Vielen Dank, dass Sie sich die Zeit genommen haben, uns zu schreiben. Das freut uns sehr!",
        "it": "Grazie mille per averci scritto. Siamo davvero felici di saperlo!",
        "pt": "Muito obrigado por nos escrever. Ficamos muito contentes por saber!",
    },
    "human_opener": {
        "en": "Thanks for your message. A member of our team will look into this personally.",
        "es": "Gracias por su mensaje. Una persona de nuestro equipo revisará su caso personalmente.",
        "fr": "Merci pour votre message. Un membre de notre équipe va examiner votre demande personnellement.",
        "de": "Danke für Ihre Nachricht. Ein Mitglied unseres Teams kümmert sich persönlich darum.",
        "it": "Grazie per il suo messaggio. Un membro del nostro team se ne occuperà personalmente.",
        "pt": "Obrigado pela sua mensagem. Um membro da nossa equipa vai tratar do seu pedido pessoalmente.",
    },
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "pending": {
        "en": "pending",
        "es": "pendiente",
        "fr": "en attente",
        "de": "ausstehend",
        "it": "in attesa",
        "pt": "pendente",
    },
    "processing": {
        "en": "being prepared",
        "es": "en preparación",
        "fr": "en préparation",
        "de": "in Bearbeitung",
        "it": "in preparazione",
        "pt": "em preparação",
    },
    "shipped": {"en": "shipped", "es": "enviado", "fr": "expédiée", "de": "versandt", "it": "spedito", "pt": "enviado"},
    "delivered": {
        "en": "delivered",
        "es": "entregado",
        "fr": "livrée",
        "de": "zugestellt",
        "it": "consegnato",
        "pt": "entregue",
    },
    "cancelled": {
        "en": "cancelled",
        "es": "cancelado",
        "fr": "annulée",
        "de": "storniert",
        "it": "annullato",
        "pt": "cancelado",
    },
    "returned": {
        "en": "returned",
        "es": "devuelto",
        "fr": "retournée",
        "de": "zurückgesandt",
        "it": "restituito",
        "pt": "devolvido",
    },
}
_SHORT_DATE = {
    "en": "MMMM d",
    "es": "d 'de' MMMM",
    "fr": "d MMMM",
    "de": "d. MMMM",
    "it": "d MMMM",
    "pt": "d 'de' MMMM",
}


def lang(language: str) -> str:
    return language if language in LANGUAGES else "en"


def say(key: str, language: str, **values: Any) -> str:
    return T[key][lang(language)].format(**values)


def status_word(status: str, language: str) -> str:
    """The shop's status in the customer's language (a shop's own word is shown as it is)."""
    return STATUS_WORDS.get(status, {}).get(lang(language), status.replace("_", " "))


def when_date(value: Any, language: str, *, today: dt.date | None = None) -> str:
    """A date as the customer's language writes it; the year only when it is not this year's."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    day = value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(day, dt.date):
        return str(value)
    this_year = (today or dt.date.today()).year
    pattern = _SHORT_DATE[lang(language)] if day.year == this_year else "long"
    return format_date(day, pattern, locale=lang(language))


def when_time(value: dt.time, language: str) -> str:
    return format_time(value, "short", locale=lang(language))


def money(amount: Any, currency: str, language: str) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip()
    return format_currency(value, currency or "USD", locale=lang(language))
