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
// get stuck), validated ones less, finished ones rarely.
func DefaultSchedules() []JobSchedule {
	return []JobSchedule{
		{Status: StatusPlaced, Every: 10 * time.Second, Priority: 9},
		{Status: StatusValidated, Every: time.Minute, Priority: 5},
		{Status: StatusInvalid, Every: 5 * time.Minute, Priority: 1},
		{Status: StatusPaymentDefined, Every: 5 * time.Minute, Priority: 1},
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

// statusBatch is how many Order_Status entries a job compares in one query.
const statusBatch = 200

// RunStatusJob refreshes the Order_Status entries of the orders projected in status, writing
// only those that changed. Each order is first caught up with any event stored after its
// projection (one lookup by _id), so a projection left behind by a writer that stopped between
// appending an event and projecting it (a payment, an answer of catalog) is repaired by the
// next job; payment_defined orders are not looked at again, as no event a client sees can
// follow them. Placed orders older than stuckAfter are then repaired. A failure with one order
// is logged and the job goes on; the next job will retry it.
func (s *Service) RunStatusJob(ctx context.Context, status Status, stuckAfter time.Duration) error {
	list, err := s.store.OrdersWithStatus(ctx, status)
	if err != nil {
		return err
	}
	for start := 0; start < len(list); start += statusBatch {
		batch := list[start:min(start+statusBatch, len(list))]
		ids := make([]string, len(batch))
		for i, o := range batch {
			ids[i] = o.ID
		}
		known, err := s.store.Statuses(ctx, ids)
		if err != nil {
			return err
		}
		for _, o := range batch {
			if status != StatusPaymentDefined {
				if o, err = s.latest(ctx, o.ID, o); err != nil {
					s.logJobError(ctx, "order not caught up with its events", o.ID, err)
					continue
				}
			}
			if o.Status == StatusPlaced && s.now().Sub(o.Created) >= stuckAfter {
				if err := s.repairPlaced(ctx, o); err != nil {
					s.logJobError(ctx, "stuck order not repaired", o.ID, err)
					continue
				}
			}
			entry := OrderStatus{OrderID: o.ID, UserID: o.UserID, Status: o.Status, Updated: o.Updated}
			if old, ok := known[o.ID]; ok && old.Status == entry.Status && old.Updated.Equal(entry.Updated) {
				continue
			}
			if err := s.store.SaveStatus(ctx, entry); err != nil {
				s.logJobError(ctx, "order status not refreshed", o.ID, err)
			}
		}
	}
	return ctx.Err()
}

// repairPlaced publishes (again) the order_placed of an order that has been placed for long.
//
// Not a plain article-data request, although that would reach catalog too: catalog answers
// article-data from the article alone (exists and enabled), while the answers to order_placed
// come from its stock reservation for the order. When catalog's refusal was lost, or it never
// saw order_placed (dead-lettered), article-data would answer "valid" and validate an order
// with no stock reserved for it — overselling. Catalog reserves once per order and repeats its
// answers for a repeated order_placed, and cart records the same order id again.
func (s *Service) repairPlaced(ctx context.Context, o Order) error {
	ctx, _ = correlation.Ensure(ctx)
	s.log.InfoContext(ctx, "publishing order_placed of a stuck order", "order_id", o.ID, "again", o.PlacedPublished)
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
