// Active attestation in the engine (dns.confirm_revealed_names): a flow to
// an unattested address whose payload revealed an allowed name asks the
// trusted resolver, through a NameConfirmer, whether the name has that
// address. Its payload stays held meanwhile; only kConfirmed allows, and
// the answer is bound in the name cache as a trusted, confirmed binding.
#include <algorithm>

#include "engine/engine_impl.h"

namespace flightwall {

bool Engine::Impl::MayConfirm() const {
  return confirmer != nullptr && policy->dns.confirm_revealed_names &&
         !policy->dns.resolvers.empty();
}

bool Engine::Impl::PayloadUnjudged(const Flow& f) const {
  return f.inspection == Inspection::kPending || f.http_awaiting || f.quic_rechecking ||
         f.confirming ||
         (f.verdict == Verdict::kAllow && f.reason == Reason::kAwaitingConfirmation);
}

void Engine::Impl::AskConfirmation(Flow& f) {
  ++stats.confirmations_asked;
  if (!MayConfirm()) return EndConfirmation(f, {ConfirmState::kError, 0});
  const ConfirmResult r =
      confirmer->Confirm(f.hostname.View(), f.server, policy->dns.resolvers.front());
  if (r.state != ConfirmState::kPending) return EndConfirmation(f, r);
  if (confirming.size() >= limits.awaiting_confirmation) {
    ++stats.confirm_no_room;
    return EndConfirmation(f, {ConfirmState::kError, 0});
  }
  f.confirming = true;
  confirming.push_back(KeyOf(f));
}

bool Engine::Impl::PollConfirmation(Flow& f) {
  if (!f.confirming) return false;
  const ConfirmResult r =
      MayConfirm() ? confirmer->Confirm(f.hostname.View(), f.server, policy->dns.resolvers.front())
                   : ConfirmResult{ConfirmState::kError, 0};
  if (r.state == ConfirmState::kPending) return false;
  EndConfirmation(f, r);
  return true;
}

void Engine::Impl::EndConfirmation(Flow& f, const ConfirmResult& r) {
  f.confirming = false;
  if (r.state == ConfirmState::kConfirmed) {
    ++stats.names_confirmed;
    f.name_confirmed = true;
    NameBinding b;
    b.name = f.hostname;
    b.answered_at = pkt.time;
    b.ttl = r.ttl;
    b.trusted = true;  // the policy's own resolver answered the daemon
    if (!policy->dns.resolvers.empty()) b.resolver = policy->dns.resolvers.front();
    b.confirmed = true;
    names->Bind(f.server, b);
  } else {
    ++stats.names_unconfirmed;
    f.confirm_refuted = true;
  }
  Decide(f);
}

void Engine::PollConfirmations(Timestamp now, std::vector<ConfirmationEnded>* decided) {
  Impl& m = *impl_;
  std::size_t i = 0;
  while (i < m.confirming.size()) {
    const FlowKey key = m.confirming[i];
    Flow* f = m.flows.Peek(key);
    bool ended = f == nullptr || !f->confirming;
    if (!ended) {
      m.pkt.time = now;  // the decision's time
      if (m.PollConfirmation(*f)) {
        ended = true;
        const bool denied = f->verdict == Verdict::kDeny;
        if (denied) {
          f->decision_final = true;
          m.ReportDecision(*f);
        }
        decided->push_back({key, !denied && !m.PayloadUnjudged(*f), denied});
      }
    }
    if (!ended) {
      ++i;
      continue;
    }
    m.confirming[i] = m.confirming.back();
    m.confirming.pop_back();
  }
}

}  // namespace flightwall
