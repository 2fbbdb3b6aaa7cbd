-- Sensitive fields, read in the customer's own row (issue 5): `secrets` caches the customer's
-- ciphertexts ("field=ciphertext,...", NULL when none), kept by the service with every write
-- and rotation of `customer_secrets`, so a read needs no second lookup.
ALTER TABLE customers ADD COLUMN secrets TEXT;
UPDATE customers SET secrets = (SELECT group_concat(field || '=' || ciphertext, ',')
    FROM customer_secrets s WHERE s.customer_id = customers.id)
    WHERE id IN (SELECT customer_id FROM customer_secrets);
