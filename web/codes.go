package web

import (
	"math"
	"strconv"
	"strings"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// codeMessages translates what the services say (SPEC §2): "code.<code>" for every declared
// errs.Code and "rule.<rule>" for every declared errs.Rule, with {param} where a rule's params
// go (a test checks every declared code and rule has both languages). "type.<kind>" names the
// JSON types of the type rule, "or" joins the last of a list and "permission.<name>" names
// the permissions the console shows.
var codeMessages = map[string]map[string]string{
	"en": {
		"or": "or",

		"code.validation_failed":       "Some fields are not valid.",
		"code.bad_request":             "The request could not be understood.",
		"code.unauthorized":            "Please sign in again.",
		"code.forbidden":               "You are not allowed to do this.",
		"code.not_found":               "It does not exist (any more).",
		"code.method_not_allowed":      "This cannot be done here.",
		"code.conflict":                "This cannot be done in the current state.",
		"code.too_large":               "What you sent is too large.",
		"code.unsupported_media_type":  "What you sent is not in a format the shop reads.",
		"code.rate_limited":            "Too many attempts. Please wait a while and try again.",
		"code.timed_out":               "What you sent took too long to arrive. Please try again.",
		"code.unavailable":             "Part of the shop is not answering. Please try again shortly.",
		"code.internal_error":          "Something went wrong on our side. Please try again.",
		"code.malformed_json":          "The request could not be understood.",
		"code.invalid_utf8":            "The text sent is not valid.",
		"code.malformed_id":            "This address does not name anything in the shop.",
		"code.missing_permission":      "Your account does not have the permission this needs.",
		"code.busy":                    "The shop is very busy. Please try again in a moment.",
		"code.concurrent_change":       "Something changed at the same time. Please try again.",
		"code.wrong_credentials":       "Wrong login or password.",
		"code.login_taken":             "That login is already taken: choose another.",
		"code.cannot_disable_self":     "You cannot disable your own account.",
		"code.cannot_revoke_own_admin": "You cannot take away your own admin permission: ask another admin.",
		"code.image_too_large":         "The picture is too large.",
		"code.image_too_many_pixels":   "The picture has too many pixels.",
		"code.invalid_search":          "Search with up to 200 characters of plain text.",
		"code.cart_empty":              "Your cart is empty.",
		"code.checkout_refused":        "Some articles in your cart cannot be ordered.",
		"code.cart_checked_out":        "This cart is already checked out.",
		"code.article_not_found":       "This article does not exist.",
		"code.article_disabled":        "This article is no longer sold.",
		"code.not_enough_stock":        "There is not enough stock for this quantity.",
		"code.not_owner":               "Only the person who placed the order can pay it.",
		"code.order_invalid":           "This order is invalid and cannot be paid.",
		"code.order_not_validated":     "The stock of this order is still being checked. Please try again shortly.",
		"code.order_paid":              "This order is already paid.",
		"code.order_cancelled":         "This order is cancelled and cannot be paid.",
		"code.not_cancellable":         "This order can no longer be cancelled.",
		"code.not_shippable":           "Only a paid order can be shipped.",
		"code.not_deliverable":         "Only a shipped order can be delivered.",
		"code.too_many_payments":       "This order has taken the most payments it can.",
		"code.exceeds_amount_due":      "The payment is more than the amount due.",

		"rule.required":             "is required",
		"rule.invalid":              "is not valid",
		"rule.not_empty":            "must not be empty",
		"rule.length":               "must be {min} to {max} bytes",
		"rule.length_chars":         "must be {min} to {max} characters",
		"rule.max_bytes":            "must be at most {max} bytes",
		"rule.max_chars":            "must be at most {max} characters",
		"rule.max_words":            "must have at most {max} words",
		"rule.no_control_chars":     "must not contain control characters",
		"rule.no_bidi":              "must not contain text direction characters",
		"rule.no_invisible":         "must not contain invisible characters",
		"rule.utf8":                 "must be valid text",
		"rule.plain_text":           "must be plain text",
		"rule.type":                 "must be {type}",
		"rule.one_of":               "must be {values}",
		"rule.int_range":            "must be a whole number from {min} to {max}",
		"rule.whole_number":         "must be a whole number",
		"rule.positive_integer":     "must be a whole number above 0",
		"rule.min":                  "must be at least {min}",
		"rule.max":                  "must be at most {max}",
		"rule.greater_than":         "must be greater than {min}",
		"rule.max_amount":           "must be at most {max}",
		"rule.decimals":             "must have at most {max} decimals",
		"rule.out_of_range":         "is out of range",
		"rule.too_large":            "is too large",
		"rule.not_current_password": "is not your current password",
		"rule.permission_count":     "must list {min} to {max} permissions",
		"rule.permission_name":      "must be 1 to {max} characters of a-z, 0-9, _ and -",
		"rule.data_url":             "must be a JPEG or PNG picture",
		"rule.base64":               "could not be read",
		"rule.image_format":         "must be a JPEG or PNG picture",
		"rule.image_unreadable":     "is not a readable {format} picture",
		"rule.image_empty":          "has no pixels",
		"rule.image_id":             "must be a picture of the shop",
		"rule.article_id":           "is not an article of the shop",
		"rule.cart_full":            "your cart already holds {max} articles, the most it can",
		"rule.line_too_large":       "that would make {quantity}, more than {max}",
		"rule.exceeds_amount_due":   "must be at most the amount due, {amountDue}",

		"type.string": "text", "type.number": "a number", "type.boolean": "true or false",
		"type.list": "a list", "type.object": "an object",

		"permission.user": "customer", "permission.admin": "admin",
	},
	"es": {
		"or": "o",

		"code.validation_failed":       "Algunos campos no son válidos.",
		"code.bad_request":             "No se pudo entender la petición.",
		"code.unauthorized":            "Vuelve a entrar, por favor.",
		"code.forbidden":               "No tienes permiso para hacer esto.",
		"code.not_found":               "No existe (o ya no existe).",
		"code.method_not_allowed":      "Esto no se puede hacer aquí.",
		"code.conflict":                "Esto no se puede hacer en el estado actual.",
		"code.too_large":               "Lo que has enviado es demasiado grande.",
		"code.unsupported_media_type":  "Lo que has enviado no está en un formato que la tienda lea.",
		"code.rate_limited":            "Demasiados intentos. Espera un rato y vuelve a intentarlo.",
		"code.timed_out":               "Lo que has enviado tardó demasiado en llegar. Inténtalo de nuevo.",
		"code.unavailable":             "Una parte de la tienda no responde. Inténtalo de nuevo en un momento.",
		"code.internal_error":          "Algo ha fallado por nuestra parte. Inténtalo de nuevo.",
		"code.malformed_json":          "No se pudo entender la petición.",
		"code.invalid_utf8":            "El texto enviado no es válido.",
		"code.malformed_id":            "Esta dirección no corresponde a nada de la tienda.",
		"code.missing_permission":      "Tu cuenta no tiene el permiso necesario para esto.",
		"code.busy":                    "La tienda está muy ocupada. Inténtalo de nuevo en un momento.",
		"code.concurrent_change":       "Algo cambió al mismo tiempo. Inténtalo de nuevo.",
		"code.wrong_credentials":       "Usuario o contraseña incorrectos.",
		"code.login_taken":             "Ese usuario ya existe: elige otro.",
		"code.cannot_disable_self":     "No puedes desactivar tu propia cuenta.",
		"code.cannot_revoke_own_admin": "No puedes quitarte tu propio permiso de administrador: pídeselo a otro administrador.",
		"code.image_too_large":         "La imagen es demasiado grande.",
		"code.image_too_many_pixels":   "La imagen tiene demasiados píxeles.",
		"code.invalid_search":          "Busca con hasta 200 caracteres de texto normal.",
		"code.cart_empty":              "Tu carrito está vacío.",
		"code.checkout_refused":        "Algunos artículos de tu carrito no se pueden pedir.",
		"code.cart_checked_out":        "Este carrito ya se ha tramitado.",
		"code.article_not_found":       "Este artículo no existe.",
		"code.article_disabled":        "Este artículo ya no se vende.",
		"code.not_enough_stock":        "No hay stock suficiente para esta cantidad.",
		"code.not_owner":               "Solo quien hizo el pedido puede pagarlo.",
		"code.order_invalid":           "Este pedido no es válido y no se puede pagar.",
		"code.order_not_validated":     "Aún se está comprobando el stock de este pedido. Inténtalo de nuevo en un momento.",
		"code.order_paid":              "Este pedido ya está pagado.",
		"code.order_cancelled":         "Este pedido está cancelado y no se puede pagar.",
		"code.not_cancellable":         "Este pedido ya no se puede cancelar.",
		"code.not_shippable":           "Solo se puede enviar un pedido pagado.",
		"code.not_deliverable":         "Solo se puede entregar un pedido enviado.",
		"code.too_many_payments":       "Este pedido ya tiene todos los pagos que admite.",
		"code.exceeds_amount_due":      "El pago supera el importe pendiente.",

		"rule.required":             "es obligatorio",
		"rule.invalid":              "no es válido",
		"rule.not_empty":            "no puede estar vacío",
		"rule.length":               "debe tener entre {min} y {max} bytes",
		"rule.length_chars":         "debe tener entre {min} y {max} caracteres",
		"rule.max_bytes":            "debe tener como mucho {max} bytes",
		"rule.max_chars":            "debe tener como mucho {max} caracteres",
		"rule.max_words":            "debe tener como mucho {max} palabras",
		"rule.no_control_chars":     "no puede contener caracteres de control",
		"rule.no_bidi":              "no puede contener caracteres de dirección del texto",
		"rule.no_invisible":         "no puede contener caracteres invisibles",
		"rule.utf8":                 "debe ser un texto válido",
		"rule.plain_text":           "debe ser texto normal",
		"rule.type":                 "debe ser {type}",
		"rule.one_of":               "debe ser {values}",
		"rule.int_range":            "debe ser un número entero de {min} a {max}",
		"rule.whole_number":         "debe ser un número entero",
		"rule.positive_integer":     "debe ser un número entero mayor que 0",
		"rule.min":                  "debe ser como mínimo {min}",
		"rule.max":                  "debe ser como mucho {max}",
		"rule.greater_than":         "debe ser mayor que {min}",
		"rule.max_amount":           "debe ser como mucho {max}",
		"rule.decimals":             "debe tener como mucho {max} decimales",
		"rule.out_of_range":         "está fuera de rango",
		"rule.too_large":            "es demasiado grande",
		"rule.not_current_password": "no es tu contraseña actual",
		"rule.permission_count":     "debe indicar entre {min} y {max} permisos",
		"rule.permission_name":      "debe tener de 1 a {max} caracteres entre a-z, 0-9, _ y -",
		"rule.data_url":             "debe ser una imagen JPEG o PNG",
		"rule.base64":               "no se pudo leer",
		"rule.image_format":         "debe ser una imagen JPEG o PNG",
		"rule.image_unreadable":     "no es una imagen {format} legible",
		"rule.image_empty":          "no tiene píxeles",
		"rule.image_id":             "debe ser una imagen de la tienda",
		"rule.article_id":           "no es un artículo de la tienda",
		"rule.cart_full":            "tu carrito ya tiene {max} artículos, el máximo posible",
		"rule.line_too_large":       "serían {quantity}, más de {max}",
		"rule.exceeds_amount_due":   "debe ser como mucho el importe pendiente, {amountDue}",

		"type.string": "un texto", "type.number": "un número", "type.boolean": "verdadero o falso",
		"type.list": "una lista", "type.object": "un objeto",

		"permission.user": "cliente", "permission.admin": "administrador",
	},
}

// moneyParams are the params that hold amounts of money, printed as prices.
var moneyParams = map[string]bool{"max_amount.max": true, "exceeds_amount_due.amountDue": true}

// codeText returns the translation of key in lang, if there is one.
func codeText(lang, key string) (string, bool) {
	msg, ok := codeMessages[lang][key]
	return msg, ok
}

// errorMessage is the summary of a service's error in lang; an unknown code gets the
// service's own text.
func errorMessage(lang string, code errs.Code, fallback string) string {
	if msg, ok := codeText(lang, "code."+code.String()); ok {
		return msg
	}
	return fallback
}

// fieldMessage is a service's field message in lang, its params in place; an unknown rule
// gets the service's own text.
func fieldMessage(lang string, p errs.FieldProblem) string {
	msg, ok := codeText(lang, "rule."+p.Code.String())
	if !ok {
		return p.Message
	}
	for name, value := range p.Params {
		msg = strings.ReplaceAll(msg, "{"+name+"}", paramText(lang, p.Code.String()+"."+name, value))
	}
	return msg
}

// paramText writes a param's value in lang: amounts as prices, numbers as the language writes
// them, lists as "A, B or C", JSON type names by their name in lang.
func paramText(lang, key string, value any) string {
	v := &view{lang: lang}
	switch value := value.(type) {
	case float64:
		if moneyParams[key] {
			return v.Money(money.Cents(math.Round(value * 100)))
		}
		return strconv.FormatFloat(value, 'f', -1, 64)
	case string:
		if key == "type.type" {
			if name, ok := codeText(lang, "type."+value); ok {
				return name
			}
		}
		return value
	}
	or, _ := codeText(lang, "or")
	return errs.FormatParam(value, or)
}

// apiProblem turns a service's error answer into the page's language: a summary, and one
// message per field (by its JSON path) for the form to show next to its inputs. A validation
// error whose fields say it all has no summary of its own.
func apiProblem(lang string, e *api.Error) (summary string, fields map[string]string) {
	fields = make(map[string]string, len(e.Fields))
	for _, f := range e.Fields {
		fields[f.Path] = fieldMessage(lang, f)
	}
	if len(e.Fields) > 0 && e.Code == errs.CodeValidationFailed {
		return "", fields
	}
	return errorMessage(lang, e.Code, e.Message), fields
}

// lineMessage is a cart validation finding in lang.
func lineMessage(lang string, p api.LineProblem) string {
	return errorMessage(lang, p.Code, p.Message)
}

// permissionName is the name of a permission in lang, or the permission itself when the shop
// has no name for it (auth accepts any).
func permissionName(lang, permission string) string {
	if name, ok := codeText(lang, "permission."+permission); ok {
		return name
	}
	return permission
}
