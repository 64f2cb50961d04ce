-- The four default subscription plans of the original (DOMAIN.md), with their quotas.
-- Idempotent: re-applied when this file changes. Plans are matched by code; plans added
-- through the API, and quota types this file does not name, are left alone.
-- Prices are USD cents. In `features`, -1 means unlimited; in plan_quotas that is
-- is_unlimited = true (quota_value stays non-negative).

insert into admin.subscription_plans (code, name, description, price_monthly_cents, price_yearly_cents, currency, plan_tier, features, sort_order) values
  ('free', 'Free', 'For trying the platform out', 0, 0, 'USD', 'free', '{"users": 5, "storage_gb": 1, "api_calls": 1000}', 10),
  ('starter', 'Starter', 'For small teams', 2900, 31000, 'USD', 'starter', '{"users": 25, "storage_gb": 10, "api_calls": 10000}', 20),
  ('professional', 'Professional', 'For growing organizations', 9900, 105000, 'USD', 'professional', '{"users": 100, "storage_gb": 100, "api_calls": 100000}', 30),
  ('enterprise', 'Enterprise', 'For large organizations', 29900, 319000, 'USD', 'enterprise', '{"users": -1, "storage_gb": 1000, "api_calls": 1000000}', 40)
on conflict (code) do update set name = excluded.name, description = excluded.description,
  price_monthly_cents = excluded.price_monthly_cents, price_yearly_cents = excluded.price_yearly_cents,
  currency = excluded.currency, plan_tier = excluded.plan_tier, features = excluded.features,
  sort_order = excluded.sort_order, deleted_at = null
where (subscription_plans.name, subscription_plans.description, subscription_plans.price_monthly_cents,
       subscription_plans.price_yearly_cents, subscription_plans.currency, subscription_plans.plan_tier,
       subscription_plans.features, subscription_plans.sort_order, subscription_plans.deleted_at)
  is distinct from (excluded.name, excluded.description, excluded.price_monthly_cents,
       excluded.price_yearly_cents, excluded.currency, excluded.plan_tier,
       excluded.features, excluded.sort_order, null::timestamptz);

-- One quota per feature, read from the plan's own `features` so the two cannot disagree.
-- api_calls is per month.
insert into admin.plan_quotas (plan_id, quota_type, quota_value, is_unlimited)
select p.id, f.key, greatest(f.value::numeric, 0), f.value::numeric = -1
from admin.subscription_plans p
cross join lateral jsonb_each_text(p.features) as f(key, value)
where p.code in ('free', 'starter', 'professional', 'enterprise')
  and f.key in ('users', 'storage_gb', 'api_calls')
on conflict (plan_id, quota_type) do update set quota_value = excluded.quota_value,
  is_unlimited = excluded.is_unlimited
where (plan_quotas.quota_value, plan_quotas.is_unlimited)
  is distinct from (excluded.quota_value, excluded.is_unlimited);
