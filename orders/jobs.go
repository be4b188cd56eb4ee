package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/correlation"
)

// The batch jobs of the seed's Order_Status: a scheduler in every instance enqueues one job per
// status and time slot into the order_status_jobs priority queue; the workers of all instances
// share that queue. A job refreshes the Order_Status entries of the orders in its status and,
// for placed orders, repairs those that got stuck.

// JobSchedule says how often the job of a status runs and with which priority (0–9, higher first).
type JobSchedule struct {
	Status   Status
	Every    time.Duration
	Priority uint8
}

// DefaultSchedules: placed orders are looked at often and first (they are the ones that can
// get stuck), validated ones less (that job also cancels those past their payment deadline),
// paid and shipped ones rarely, finished ones least.
func DefaultSchedules() []JobSchedule {
	return []JobSchedule{
		{Status: StatusPlaced, Every: 10 * time.Second, Priority: 9},
		{Status: StatusValidated, Every: time.Minute, Priority: 5},
		{Status: StatusInvalid, Every: 5 * time.Minute, Priority: 1},
		{Status: StatusPaymentDefined, Every: 5 * time.Minute, Priority: 1},
		{Status: StatusShipped, Every: 5 * time.Minute, Priority: 1},
		{Status: StatusCancelled, Every: 15 * time.Minute, Priority: 0},
		{Status: StatusDelivered, Every: 15 * time.Minute, Priority: 0},
	}
}

// enqueueTimeout bounds the claim and the send of one status job.
const enqueueTimeout = 15 * time.Second

// typeStatusJob is the type of a status job message. Orders alone sends and reads it, so it is
// declared here; its queue is part of the shop's topology (pkg/contract).
const typeStatusJob = "order_status_job"

// statusJob is the message of a job: the status to process, and the slot it was enqueued for.
type statusJob struct {
	Status Status `json:"status"`
	Slot   string `json:"slot"`
}

// ScheduleJobs enqueues the jobs of schedules until ctx is done, then returns nil. Failures
// are logged: the next tick tries again.
func (s *Service) ScheduleJobs(ctx context.Context, schedules []JobSchedule) error {
	var wg sync.WaitGroup
	longest := time.Duration(0)
	for _, sc := range schedules {
		longest = max(longest, sc.Every)
		enqueue := app.Every(s.log, "enqueue the "+string(sc.Status)+" status job", sc.Every, func(ctx context.Context) error {
			_, err := s.EnqueueJob(ctx, sc, s.now())
			return err
		})
		wg.Go(func() { _ = enqueue(ctx) })
	}
	// Slot claims only matter while their slot is current: forget old ones now and then.
	forget := app.Every(s.log, "forget old job slots", time.Hour, func(ctx context.Context) error {
		return s.store.ForgetSlots(ctx, s.now().Add(-2*longest-time.Hour))
	})
	wg.Go(func() { _ = forget(ctx) })
	wg.Wait()
	return nil
}

// EnqueueJob enqueues the job of sc for the time slot of now, unless some scheduler (of this or
// another instance) already did: slots are claimed under a unique id. It tells whether it did.
func (s *Service) EnqueueJob(ctx context.Context, sc JobSchedule, now time.Time) (bool, error) {
	start := now.Truncate(sc.Every)
	slot := fmt.Sprintf("%s/%d", sc.Status, start.UnixMilli())
	// A claim, once asked for, is seen through even if ctx ends meanwhile: a slot claimed (the
	// store may have written it before ctx ended) but never sent would have no job at all.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	claimed, err := s.store.ClaimSlot(ctx, slot, start)
	if err != nil || !claimed {
		return false, err
	}
	ctx, _ = correlation.Ensure(ctx)
	err = bus.Send(ctx, s.bus, contract.ExchangeStatusJob, contract.QueueStatusJobs, typeStatusJob,
		statusJob{Status: sc.Status, Slot: slot}, bus.WithPriority(sc.Priority))
	return err == nil, err
}

// handleStatusJob is the worker of the order_status_jobs queue.
func handleStatusJob(svc *Service, stuckAfter time.Duration) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		var job statusJob
		if err := d.Decode(&job); err != nil {
			return err
		}
		if !job.Status.Valid() {
			return bus.Permanent(fmt.Errorf("status job for unknown status %q", job.Status))
		}
		return svc.RunStatusJob(ctx, job.Status, stuckAfter)
	}
}

// RunStatusJob brings each order on the work list under status (statuswork.go) into
// Order_Status (refreshStatus): a few lookups by _id per open or recently changed order,
// whatever the number of finished ones. A failure with one order is logged and the job goes on;
// the order stays on the list, so the next job retries it.
func (s *Service) RunStatusJob(ctx context.Context, status Status, stuckAfter time.Duration) error {
	ids, err := s.store.WorkWithStatus(ctx, status)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.refreshStatus(ctx, id, status, stuckAfter); err != nil {
			s.logJobError(ctx, "order status not refreshed", id, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return ctx.Err()
}

// refreshStatus brings one order of the work list, listed under the job's status listed, into
// Order_Status, doing first what its writer may have left undone: order_placed again for a
// stuck placed order, the cancellation of one past its payment deadline, order_cancelled again
// for a cancelled one, its unpaid slot back. Placed orders, and validated ones with a deadline
// to come, stay on the list; the others leave it (leaveWork).
func (s *Service) refreshStatus(ctx context.Context, orderID string, listed Status, stuckAfter time.Duration) error {
	o, err := s.current(ctx, orderID)
	if err != nil {
		return err
	}
	if !o.Exists() { // listed by a change that never got stored: nothing to show
		return s.store.DropWork(ctx, orderID)
	}
	if o.Status == StatusPlaced && s.now().Sub(o.Created) >= stuckAfter {
		if err := s.repairPlaced(ctx, o); err != nil {
			return fmt.Errorf("stuck order not repaired: %w", err)
		}
	}
	if o.Status == StatusValidated {
		var expired bool
		if o, expired, err = s.expire(ctx, o); err != nil {
			return fmt.Errorf("order past its payment deadline not cancelled: %w", err)
		}
		if expired {
			s.log.InfoContext(ctx, "order cancelled: payment deadline passed", "order_id", o.ID)
		}
	}
	if o.Status == StatusCancelled {
		if err := s.PublishOrderCancelled(ctx, o); err != nil {
			return err
		}
	}
	if err := s.releaseUnpaid(ctx, o); err != nil { // its writer may have stopped before
		return err
	}
	if err := s.saveStatusIfChanged(ctx, o); err != nil {
		return err
	}
	switch {
	case o.Status == StatusPlaced:
		return nil // placed orders stay on the list until they leave placed
	case o.Status == StatusValidated && s.deadline > 0:
		if listed == StatusValidated {
			return nil // the validated job looks at it again until it is paid or expires
		}
		return s.store.AddWork(ctx, orderID, StatusValidated, o.Updated)
	}
	return s.leaveWork(ctx, o)
}

// leaveWork takes o, now shown in Order_Status, off the work list. The delete is not
// conditional (not atomic on every server), so look after it: a change appended meanwhile, or
// an older entry saved by a slower job, puts the order back on the list.
func (s *Service) leaveWork(ctx context.Context, o Order) error {
	orderID := o.ID
	if err := s.store.DropWork(ctx, orderID); err != nil {
		return err
	}
	_, later, err := s.store.EventAt(ctx, orderID, o.Version+1)
	if err != nil {
		return err
	}
	st, version, found, err := s.store.Status(ctx, orderID)
	if err != nil {
		return err
	}
	if later || !found || version != o.Version || !sameStatus(st, statusOf(o)) {
		return s.store.AddWork(ctx, orderID, o.Status, s.now())
	}
	return nil
}

func sameStatus(a, b OrderStatus) bool {
	return a.OrderID == b.OrderID && a.UserID == b.UserID && a.Status == b.Status && a.Updated.Equal(b.Updated)
}

// saveStatusIfChanged writes o's Order_Status entry unless the stored one already shows it or
// shows a newer version (a faster job read the order later). Look and write are two steps, not
// atomic: a slower job may still write an older entry just after a newer one; the look after
// dropping an order from the work list (refreshStatus) puts it back on the list then.
func (s *Service) saveStatusIfChanged(ctx context.Context, o Order) error {
	st, version, found, err := s.store.Status(ctx, o.ID)
	if err != nil || (found && (version > o.Version || version == o.Version && sameStatus(st, statusOf(o)))) {
		return err
	}
	return s.store.SaveStatus(ctx, o)
}

// repairPlaced publishes (again) the order_placed of an order that has been placed for long.
// Not an article-data request: catalog answers that from the article alone, so it could
// validate an order with no stock reserved for it. Catalog reserves once per order and repeats
// its answers for a repeated order_placed.
func (s *Service) repairPlaced(ctx context.Context, o Order) error {
	ctx, _ = correlation.Ensure(ctx)
	s.log.InfoContext(ctx, "publishing order_placed of a stuck order", "order_id", o.ID)
	return s.PublishOrderPlaced(ctx, o)
}

// logJobError logs a job's failure with one order; an interruption by shutdown is no warning.
func (s *Service) logJobError(ctx context.Context, msg, orderID string, err error) {
	level := slog.LevelWarn
	if errors.Is(err, context.Canceled) {
		level = slog.LevelDebug
	}
	s.log.Log(ctx, level, msg, "order_id", orderID, "err", err)
}
