-- admin schema, part 3: plans, subscriptions, invoices and payments.
-- Money is BIGINT in minor units scaled by 10^price_precision (2 by default: cents), never a
-- float; amounts are stored non-negative and their direction comes from the row's type.
-- Currency columns reference platform_common.currencies (ADR 0015); whether a currency is
-- still active for new prices is checked by the API.

create table admin.subscription_plans (
  id uuid primary key default platform_common.uuid_generate_v7(),
  -- UNIQUE across soft-deleted rows: subscriptions and invoices name plans by code.
  code varchar(50) not null unique check (code ~ '^[a-z0-9][a-z0-9_-]*$'),
  name varchar(150) not null,
  description text,
  price_monthly_cents bigint not null,
  price_yearly_cents bigint not null,
  price_precision smallint not null default 2 check (price_precision between 0 and 8),
  currency char(3) not null default 'USD' references platform_common.currencies (code),
  plan_tier admin.plan_tier not null,
  is_public boolean not null default true,
  is_active boolean not null default true,
  is_legacy boolean not null default false,
  trial_days integer not null default 0 check (trial_days between 0 and 365),
  -- Limits the marketing page shows (`{"users": 5, ...}`, -1 = unlimited); plan_quotas is
  -- what enforcement reads.
  features jsonb not null default '{}',
  feature_limits jsonb not null default '{}',
  marketing_highlight varchar(255),
  sort_order integer not null default 0,
  billing_description text,
  available_from date,
  available_until date,
  deprecated_at timestamptz,
  replacement_plan_id uuid references admin.subscription_plans (id) on delete set null,
  setup_fee_cents bigint not null default 0,
  cancellation_fee_cents bigint not null default 0,
  overage_pricing jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint subscription_plans_prices_non_negative
    check (price_monthly_cents >= 0 and price_yearly_cents >= 0
           and setup_fee_cents >= 0 and cancellation_fee_cents >= 0),
  constraint subscription_plans_availability_order
    check (available_until is null or available_from is null or available_until >= available_from),
  constraint subscription_plans_replacement_not_self
    check (replacement_plan_id is null or replacement_plan_id <> id)
);

create table admin.plan_quotas (
  id uuid primary key default platform_common.uuid_generate_v7(),
  plan_id uuid not null references admin.subscription_plans (id) on delete cascade,
  quota_type varchar(50) not null check (quota_type ~ '^[a-z][a-z0-9_]*$'),
  -- Unlimited is a flag, not -1 here: quota_value stays a real, non-negative amount.
  quota_value numeric(15, 2) not null default 0 check (quota_value >= 0),
  is_unlimited boolean not null default false,
  allows_overage boolean not null default false,
  overage_price_per_unit_cents bigint check (overage_price_per_unit_cents >= 0),
  overage_price_precision smallint not null default 4 check (overage_price_precision between 0 and 8),
  overage_free_tier numeric(10, 2) check (overage_free_tier >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (plan_id, quota_type)
);

create table admin.tenant_subscriptions (
  id uuid primary key default platform_common.uuid_generate_v7(),
  -- Billing history must survive: a tenant or plan with subscriptions cannot be hard-deleted
  -- (both are soft-deleted instead).
  tenant_id uuid not null references admin.tenants (id) on delete restrict,
  plan_id uuid not null references admin.subscription_plans (id) on delete restrict,
  external_subscription_id varchar(255) unique,
  -- Transitions are enforced by the subscriptions service (ADR 0015).
  status admin.subscription_status not null default 'trial',
  billing_cycle admin.billing_cycle not null,
  current_period_start date not null,
  current_period_end date not null,
  trial_start timestamptz,
  trial_end timestamptz,
  trial_extended_days integer not null default 0 check (trial_extended_days >= 0),
  auto_renew boolean not null default true,
  payment_method_id varchar(255),
  next_billing_date date,
  price_cents bigint not null default 0 check (price_cents >= 0),
  currency char(3) not null default 'USD' references platform_common.currencies (code),
  discount_percentage numeric(5, 2) not null default 0 check (discount_percentage between 0 and 100),
  -- Negotiated terms that replace the plan's price list (null: the plan's prices apply). The
  -- original named the column without a type; JSON holds whatever was agreed.
  custom_pricing jsonb,
  subscribed_at timestamptz not null default now(),
  activated_at timestamptz,
  canceled_at timestamptz,
  expires_at timestamptz,
  suspended_at timestamptz,
  cancellation_reason varchar(100),
  cancellation_feedback text,
  canceled_by uuid references admin.platform_users (id) on delete set null,
  last_billing_at timestamptz,
  next_renewal_notification_sent_at timestamptz,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint tenant_subscriptions_period_order check (current_period_end > current_period_start),
  constraint tenant_subscriptions_trial_order
    check (trial_end is null or trial_start is null or trial_end >= trial_start),
  -- Entering these states stamps them; a state without its stamp is a service bug.
  constraint tenant_subscriptions_canceled_stamped
    check (status <> 'canceled' or canceled_at is not null),
  constraint tenant_subscriptions_suspended_stamped
    check (status <> 'suspended' or suspended_at is not null)
);
create index tenant_subscriptions_tenant_idx on admin.tenant_subscriptions (tenant_id, created_at desc);
create index tenant_subscriptions_plan_idx on admin.tenant_subscriptions (plan_id);
-- Ours: a tenant has at most one subscription that is still running.
create unique index tenant_subscriptions_one_live_key on admin.tenant_subscriptions (tenant_id)
  where status in ('trial', 'active', 'past_due', 'suspended') and deleted_at is null;

create table admin.subscription_addons (
  id uuid primary key default platform_common.uuid_generate_v7(),
  subscription_id uuid not null references admin.tenant_subscriptions (id) on delete cascade,
  addon_name varchar(100) not null,
  addon_description text,
  addon_type varchar(50),
  price_cents bigint not null default 0 check (price_cents >= 0),
  price_precision smallint not null default 2 check (price_precision between 0 and 8),
  currency char(3) not null default 'USD' references platform_common.currencies (code),
  billing_cycle admin.billing_cycle not null default 'monthly',
  quota_additions jsonb not null default '{}',
  feature_additions jsonb not null default '{}',
  added_at timestamptz not null default now(),
  removed_at timestamptz,
  is_active boolean not null default true,
  constraint subscription_addons_removed_inactive
    check (removed_at is null or (removed_at >= added_at and not is_active))
);
create index subscription_addons_subscription_idx on admin.subscription_addons (subscription_id);

create table admin.invoices (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete restrict,
  subscription_id uuid references admin.tenant_subscriptions (id) on delete set null,
  invoice_number varchar(50) not null unique,
  external_invoice_id varchar(255) unique,
  -- The original gave no list; these are ours.
  invoice_type varchar(20) not null default 'subscription'
    check (invoice_type in ('subscription', 'usage', 'one_time', 'adjustment')),
  billing_reason varchar(50),
  period_start date,
  period_end date,
  subtotal_cents bigint not null default 0,
  tax_cents bigint not null default 0,
  discount_cents bigint not null default 0,
  total_cents bigint not null default 0,
  currency char(3) not null default 'USD' references platform_common.currencies (code),
  tax_rate numeric(5, 4) not null default 0 check (tax_rate between 0 and 1),
  tax_description varchar(255),
  tax_jurisdiction varchar(100),
  status admin.invoice_status not null default 'draft',
  issued_at timestamptz,
  due_at timestamptz,
  paid_at timestamptz,
  voided_at timestamptz,
  payment_method varchar(50),
  payment_intent_id varchar(255),
  payment_processor varchar(50) not null default 'stripe',
  failure_reason text,
  retry_count integer not null default 0 check (retry_count >= 0),
  collection_method varchar(30) not null default 'charge_automatically'
    check (collection_method in ('charge_automatically', 'send_invoice')),
  days_until_due integer not null default 30 check (days_until_due >= 0),
  customer_notes text,
  internal_notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint invoices_amounts_non_negative
    check (subtotal_cents >= 0 and tax_cents >= 0 and discount_cents >= 0 and total_cents >= 0),
  -- Ours: the total is derived, never typed in; a discount larger than the bill is refused by
  -- the check above (issue a credit instead).
  constraint invoices_total_derived
    check (total_cents = subtotal_cents + tax_cents - discount_cents),
  constraint invoices_period_order
    check (period_end is null or period_start is null or period_end >= period_start),
  constraint invoices_paid_stamped check (status <> 'paid' or paid_at is not null),
  constraint invoices_void_stamped check (status <> 'void' or voided_at is not null)
);
create index invoices_tenant_idx on admin.invoices (tenant_id, created_at desc);
create index invoices_subscription_idx on admin.invoices (subscription_id);
create index invoices_open_due_idx on admin.invoices (due_at) where status = 'open';

create table admin.invoice_line_items (
  id uuid primary key default platform_common.uuid_generate_v7(),
  invoice_id uuid not null references admin.invoices (id) on delete cascade,
  description varchar(255) not null,
  detailed_description text,
  quantity numeric(10, 2) not null default 1 check (quantity > 0),
  -- Non-negative like every amount: a `discount` item subtracts by its type, not its sign.
  unit_price_cents bigint not null check (unit_price_cents >= 0),
  total_cents bigint not null check (total_cents >= 0),
  price_precision smallint not null default 2 check (price_precision between 0 and 8),
  item_type admin.line_item_type not null default 'subscription',
  product_code varchar(100),
  sku varchar(100),
  period_start date,
  period_end date,
  is_prorated boolean not null default false,
  proration_details jsonb,
  taxable boolean not null default true,
  tax_amount_cents bigint not null default 0 check (tax_amount_cents >= 0),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint invoice_line_items_period_order
    check (period_end is null or period_start is null or period_end >= period_start)
);
create index invoice_line_items_invoice_idx on admin.invoice_line_items (invoice_id);

create table admin.payment_transactions (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete restrict,
  invoice_id uuid references admin.invoices (id) on delete set null,
  transaction_id varchar(255) not null unique,
  external_reference varchar(255),
  transaction_type varchar(20) not null
    check (transaction_type in ('payment', 'refund', 'chargeback', 'fee', 'payout')),
  amount_cents bigint not null check (amount_cents >= 0),
  currency char(3) not null default 'USD' references platform_common.currencies (code),
  payment_method_type varchar(50),
  -- Brand, last four digits, expiry: what the processor returns for display, never a full
  -- card number or a secret.
  payment_method_details jsonb not null default '{}',
  status varchar(20) not null default 'pending'
    check (status in ('pending', 'succeeded', 'failed', 'canceled', 'refunded')),
  failure_reason text,
  processor varchar(50) not null default 'stripe',
  processor_fee_cents bigint not null default 0 check (processor_fee_cents >= 0),
  -- amount minus fee; may be negative when a fee exceeds a small amount.
  net_amount_cents bigint,
  processed_at timestamptz,
  settled_at timestamptz,
  parent_transaction_id uuid references admin.payment_transactions (id) on delete set null,
  refund_amount_cents bigint not null default 0
    check (refund_amount_cents >= 0 and refund_amount_cents <= amount_cents),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payment_transactions_parent_not_self
    check (parent_transaction_id is null or parent_transaction_id <> id)
);
create index payment_transactions_tenant_idx on admin.payment_transactions (tenant_id, created_at desc);
create index payment_transactions_invoice_idx on admin.payment_transactions (invoice_id);
create index payment_transactions_parent_idx on admin.payment_transactions (parent_transaction_id);

create table admin.billing_alerts (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
  alert_type varchar(50) not null,
  -- A CHECK as in the original rather than admin.risk_level: same values.
  severity varchar(10) not null default 'medium'
    check (severity in ('low', 'medium', 'high', 'critical')),
  title varchar(200) not null,
  message text,
  related_invoice_id uuid references admin.invoices (id) on delete set null,
  related_subscription_id uuid references admin.tenant_subscriptions (id) on delete set null,
  is_resolved boolean not null default false,
  resolved_at timestamptz,
  resolved_by uuid references admin.platform_users (id) on delete set null,
  notification_sent boolean not null default false,
  notification_sent_at timestamptz,
  created_at timestamptz not null default now(),
  constraint billing_alerts_resolved_stamped check (is_resolved = (resolved_at is not null)),
  constraint billing_alerts_notification_stamped
    check (notification_sent = (notification_sent_at is not null))
);
create index billing_alerts_tenant_open_idx on admin.billing_alerts (tenant_id, created_at desc)
  where not is_resolved;

create trigger subscription_plans_updated_at before update on admin.subscription_plans
  for each row execute function platform_common.update_updated_at_column();
create trigger plan_quotas_updated_at before update on admin.plan_quotas
  for each row execute function platform_common.update_updated_at_column();
create trigger tenant_subscriptions_updated_at before update on admin.tenant_subscriptions
  for each row execute function platform_common.update_updated_at_column();
create trigger invoices_updated_at before update on admin.invoices
  for each row execute function platform_common.update_updated_at_column();
create trigger payment_transactions_updated_at before update on admin.payment_transactions
  for each row execute function platform_common.update_updated_at_column();
