package web

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// checkText checks every string that decoding body gave v: each must hold no control
// characters other than tab and line breaks. When body is not valid UTF-8, the strings the
// decoder repaired (it puts U+FFFD in place of each broken sequence) are refused too, so broken
// text is never stored in place of what the client meant. Problems name the JSON field.
func checkText(body []byte, v any) error {
	brokenUTF8 := !utf8.Valid(body)
	var problems errs.Validation
	walkStrings(reflect.ValueOf(v), "", func(path, s string) {
		switch {
		case brokenUTF8 && strings.ContainsRune(s, utf8.RuneError):
			problems.Add(path, errs.Break(errs.RuleUTF8))
		case strings.ContainsFunc(s, isForbiddenControl):
			problems.Add(path, errs.Break(errs.RuleNoControl))
		}
	})
	if err := problems.Err(); err != nil {
		return err
	}
	if brokenUTF8 {
		return errs.Newf(errs.Invalid, "the body must be valid UTF-8").WithCode(errs.CodeInvalidUTF8)
	}
	return nil
}

// isForbiddenControl tells the control characters no text field may hold: all but tab, line
// feed and carriage return.
func isForbiddenControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}

// walkStrings calls visit with the JSON path of every string held in v.
func walkStrings(v reflect.Value, path string, visit func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		visit(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), path+"["+strconv.Itoa(i)+"]", visit)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for it := v.MapRange(); it.Next(); {
			key := it.Key().String()
			visit(joinPath(path, key), key)
			walkStrings(it.Value(), joinPath(path, key), visit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				walkStrings(v.Field(i), path, visit)
				continue
			case name == "":
				name = f.Name
			}
			walkStrings(v.Field(i), joinPath(path, name), visit)
		}
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// BidiControlMessage is the field message of text holding a bidirectional control character.
var BidiControlMessage = errs.RuleNoBidi.Text()

// IsBidiControl tells the Unicode bidirectional control characters: the embeddings and
// overrides U+202A–U+202E, the isolates U+2066–U+2069, and the marks U+200E, U+200F and U+061C.
// Text that others read may not hold them: they reorder what is shown around them, so a name
// can display as something it does not say ("Trojan Source").
func IsBidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// CheckNoBidi records a problem for the field at path when s holds a bidirectional control
// character. Every service checks the text a person types and others see (names, logins,
// article texts) through it.
func CheckNoBidi(v *errs.Validation, path, s string) {
	v.Check(!strings.ContainsFunc(s, IsBidiControl), path, errs.Break(errs.RuleNoBidi))
}
