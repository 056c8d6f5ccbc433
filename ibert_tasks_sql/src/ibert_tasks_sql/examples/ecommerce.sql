-- Monthly revenue per country in 2024, and each country's rank within its month.
WITH order_totals AS (
    SELECT
        o.order_id,
        o.customer_id,
        o.order_date,
        SUM(i.quantity * i.unit_price) AS total
    FROM orders AS o
    JOIN order_items AS i ON i.order_id = o.order_id
    WHERE o.status <> 'cancelled'
    GROUP BY o.order_id, o.customer_id, o.order_date
)
SELECT
    c.country,
    DATE_TRUNC('month', t.order_date) AS month,
    COUNT(*) AS order_count,
    SUM(t.total) AS revenue,
    RANK() OVER (
        PARTITION BY DATE_TRUNC('month', t.order_date)
        ORDER BY SUM(t.total) DESC
    ) AS country_rank
FROM order_totals AS t
JOIN customers AS c ON c.customer_id = t.customer_id
WHERE t.order_date >= DATE '2024-01-01'
GROUP BY c.country, DATE_TRUNC('month', t.order_date)
ORDER BY month, country_rank, c.country
