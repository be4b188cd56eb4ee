package orders

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/money"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// history is a typical order's events: placed for 2×A and 1×B, both validated, then two
// payments.
func history(id string) []Event {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	return []Event{
		{OrderID: id, Version: 1, Type: EventPlaced, At: at(1), Placed: &Placed{CartID: "cart1", UserID: "u1",
			Lines: []Line{{ArticleID: "A", Quantity: 2}, {ArticleID: "B", Quantity: 1}}}},
		{OrderID: id, Version: 2, Type: EventArticleValidated, At: at(2), Article: &ArticleData{ArticleID: "A", Valid: true, Price: 1050, Stock: 7}},
		{OrderID: id, Version: 3, Type: EventArticleValidated, At: at(3), Article: &ArticleData{ArticleID: "B", Valid: true, Price: 199, Stock: 1}},
		{OrderID: id, Version: 4, Type: EventPaymentDefined, At: at(4), Payment: &Payment{Method: Cash, Amount: 1000}},
		{OrderID: id, Version: 5, Type: EventPaymentDefined, At: at(5), Payment: &Payment{Method: Debit, Amount: 1299}},
	}
}

func TestFoldStatuses(t *testing.T) {
	events := history("o1")
	want := []struct {
		status      Status
		total, paid money.Cents
		updated     int
	}{
		{StatusPlaced, 0, 0, 1},
		{StatusPlaced, 2100, 0, 2},
		{StatusValidated, 2299, 0, 3},
		{StatusValidated, 2299, 1000, 4},
		{StatusPaymentDefined, 2299, 2299, 5},
	}
	for i, w := range want {
		o := Fold(events[:i+1])
		assert.Equal(t, w.status, o.Status, "after event %d", i+1)
		assert.Equal(t, w.total, o.TotalPrice, "total price after event %d", i+1)
		assert.Equal(t, w.paid, o.TotalPayment, "total payment after event %d", i+1)
		assert.Equal(t, t0.Add(time.Duration(w.updated)*time.Second), o.Updated, "updated after event %d", i+1)
		assert.Equal(t, i+1, o.Version)
	}
	o := Fold(events)
	assert.Equal(t, "o1", o.ID)
	assert.Equal(t, "u1", o.UserID)
	assert.Equal(t, t0.Add(time.Second), o.Created)
	assert.Len(t, o.Payments, 2)
}

func TestFoldInvalidAsSoonAsOneArticleIsInvalid(t *testing.T) {
	events := history("o1")[:2]
	events = append(events, Event{OrderID: "o1", Version: 3, Type: EventArticleValidated, At: t0,
		Article: &ArticleData{ArticleID: "B", Valid: false}})
	assert.Equal(t, StatusInvalid, Fold(events).Status)

	// Invalid even while other articles are still unanswered.
	first := history("o1")[:1]
	first = append(first, Event{OrderID: "o1", Version: 2, Type: EventArticleValidated, At: t0,
		Article: &ArticleData{ArticleID: "B", Valid: false}})
	assert.Equal(t, StatusInvalid, Fold(first).Status)
}

func TestFoldIsPureAndIgnoresRepeatedFacts(t *testing.T) {
	events := history("o1")
	first := Fold(events)
	for range 3 {
		assert.Equal(t, first, Fold(events), "folding again gives the same order")
	}
	// A second answer for an article already answered changes nothing but the version.
	repeated := append(append([]Event(nil), events[:3]...), Event{OrderID: "o1", Version: 4, Type: EventArticleValidated,
		At: t0, Article: &ArticleData{ArticleID: "A", Valid: false, Price: 1}})
	o := Fold(repeated)
	assert.Equal(t, StatusValidated, o.Status)
	assert.Equal(t, money.Cents(2299), o.TotalPrice)
	// Folding must not change the events' data through shared slices.
	assert.Equal(t, 2, events[0].Placed.Lines[0].Quantity)
}

func TestOrderIDForCart(t *testing.T) {
	a, b := OrderIDForCart("cart-1"), OrderIDForCart("cart-2")
	assert.Equal(t, a, OrderIDForCart("cart-1"), "the same cart always gives the same order")
	assert.NotEqual(t, a, b)
	assert.True(t, ValidOrderID(a))
	assert.False(t, ValidOrderID("not-an-id"))
	assert.False(t, ValidOrderID(a+"0"))
}

func TestEventKeys(t *testing.T) {
	placed := Event{OrderID: "o", Version: 1, Type: EventPlaced}
	article := Event{OrderID: "o", Version: 3, Type: EventArticleValidated, Article: &ArticleData{ArticleID: "A"}}
	articleAgain := Event{OrderID: "o", Version: 7, Type: EventArticleValidated, Article: &ArticleData{ArticleID: "A"}}
	pay1 := Event{OrderID: "o", Version: 4, Type: EventPaymentDefined}
	pay2 := Event{OrderID: "o", Version: 5, Type: EventPaymentDefined}
	assert.Equal(t, article.Key(), articleAgain.Key(), "one answer per article")
	assert.NotEqual(t, pay1.Key(), pay2.Key(), "every payment is its own fact")
	assert.NotEqual(t, placed.Key(), article.Key())
}

func TestPlaceOrderMessageBounds(t *testing.T) {
	line := func(id string, q int) contract.OrderLine { return contract.OrderLine{ArticleID: id, Quantity: q} }
	for _, tc := range []struct {
		name  string
		lines []contract.OrderLine
		ok    bool
	}{
		{"the largest line", []contract.OrderLine{line("A", maxLineQuantity)}, true},
		{"a line too large", []contract.OrderLine{line("A", maxLineQuantity+1)}, false},
		// Merging repeated articles must not get round the bound of one line.
		{"repeats adding up to too much", []contract.OrderLine{line("A", 600_000), line("B", 1), line(" A ", 600_000)}, false},
		{"repeats within the bound", []contract.OrderLine{line("A", 400_000), line("A", 600_000)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := placedFrom(contract.PlaceOrder{CartID: "c1", UserID: "u1", Articles: tc.lines})
			assert.Equal(t, tc.ok, err == nil, "err %v", err)
		})
	}
}

func FuzzPlaceOrderMessage(f *testing.F) {
	f.Add("c1", "u1", "A", 2, "A", 3)
	f.Add("", "u1", "A", 0, "", -1)
	f.Fuzz(func(t *testing.T, cart, user, a1 string, q1 int, a2 string, q2 int) {
		m := contract.PlaceOrder{CartID: cart, UserID: user, Articles: []contract.OrderLine{{ArticleID: a1, Quantity: q1}, {ArticleID: a2, Quantity: q2}}}
		p, err := placedFrom(m)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		total := 0
		for _, l := range p.Lines {
			assert.False(t, seen[l.ArticleID], "articles are merged")
			seen[l.ArticleID] = true
			assert.Positive(t, l.Quantity)
			total += l.Quantity
		}
		assert.Equal(t, q1+q2, total)
	})
}
